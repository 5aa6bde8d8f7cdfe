"""Public endpoints the providers call: the SMS status callback (Twilio's StatusCallback).

No partner token here: the request is authenticated the provider's way, by its X-Twilio-Signature over the URL we
gave and the POST parameters, checked before anything is read. A bad or missing signature is a 403 and changes
nothing. The URL checked is the one we gave Twilio (PUBLIC_BASE_URL + the path and query), not what a proxy in front
of us says the host was."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.messaging.channels.sms import receipt_of_callback, status_callback_verified
from notifications.messaging.receipts import ReceiptOutcome, message_receipt_record


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt  # a provider's server-to-server POST: authenticated by its signature, not a browser session
@require_POST
def sms_status_callback(request: HttpRequest) -> JsonResponse:
    base = settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}"
    url = f"{base}{request.get_full_path()}"
    if not status_callback_verified(url=url, params=request.POST,
                                    signature=request.headers.get("X-Twilio-Signature", "")):
        return _error(403, "invalid_signature", "The X-Twilio-Signature header does not sign this request.")
    message_id = request.GET.get("messageId", "")
    receipt = receipt_of_callback(request.POST)
    if not message_id.isdigit() or not receipt.provider_message_id:
        return _error(400, "validation_error", "A status callback needs the messageId query parameter of the "
                      "StatusCallback URL and a MessageSid.")
    outcome = message_receipt_record(message_id=int(message_id), provider_message_id=receipt.provider_message_id,
                                     status=receipt.status, error_code=receipt.error_code)
    if outcome is ReceiptOutcome.NOT_FOUND:
        return _error(404, "not_found", "No message with this messageId and MessageSid.")
    return JsonResponse({"result": outcome.value})
