"""Email through Django's email backends (SMTP in production, console in development).

Every email carries both alternatives, plain text and HTML (`message.html_body`, rendered with escaped variables;
built from the text for a row rendered without one), the product's sender name and Reply-To, and, unless the notice
is critical, `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a mail client's
"Unsubscribe" opts the cardholder out of this category of emails. Subject, every body part, the addresses and the
extra headers are checked for card numbers before the email is handed to the backend."""

import smtplib
import uuid
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME

from notifications.messaging.channels.base import ChannelAdapter, SendResult, TransportError, refuse_card_numbers
from notifications.models import CustomerChannel, CustomerMessage
from subscriptions.catalog import get_event
from templates.html_text import text_to_html
from wallets.links import unsubscribe_token_create, unsubscribe_url


def _is_permanent_code(code: int) -> bool:
    # SMTP 5xx replies are final ("mailbox does not exist", "message rejected"); 4xx are "try again later".
    return 500 <= code < 600


def _sender(message: CustomerMessage) -> str:
    """DEFAULT_FROM_EMAIL's address under the product's sender name, when the product has one."""
    product = message.product if message.product_id else None
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if product is not None and product.email_sender_name:
        name = product.email_sender_name
    return formataddr((name, address)) if name else address


def email_headers(message: CustomerMessage) -> dict[str, str]:
    """Reply-To of the product, and the one-click unsubscribe headers of a non-critical notice."""
    headers: dict[str, str] = {}
    product = message.product if message.product_id else None
    if product is not None and product.email_reply_to:
        headers["Reply-To"] = product.email_reply_to
    definition = get_event(message.event.event_name) if message.event_id else None
    holder = message.cardholder if message.cardholder_id else None
    if definition is not None and not definition.critical and holder is not None:
        token = unsubscribe_token_create(cardholder=holder, category=definition.category,
                                         channel=CustomerChannel.EMAIL)
        url = unsubscribe_url(token)
        if url:
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


class EmailChannel(ChannelAdapter):
    """Sends through the backend named by `backend` (default: settings.EMAIL_BACKEND). The provider message id is
    the Message-ID header we generate, so a bounce can be matched to the row later."""

    name = "EMAIL"

    def __init__(self, backend: str | None = None):
        self.backend = backend

    @staticmethod
    def _message_id() -> str:
        # A UUID, not make_msgid's `<time.pid.random@host>`: that is one run of dot-separated numbers, and some run
        # of its whole groups would pass Luhn one time in ten, so the card-number check would refuse the email.
        return f"<{uuid.uuid4()}@{DNS_NAME}>"

    @staticmethod
    def _email(message: CustomerMessage, message_id: str) -> EmailMultiAlternatives:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=_sender(message),
            to=[message.recipient],
            headers={"Message-ID": message_id, **email_headers(message)},
        )
        email.attach_alternative(message.html_body or text_to_html(message.body), "text/html")
        return email

    @staticmethod
    def email_fields(email: EmailMultiAlternatives) -> dict[str, str]:
        """Every text of `email` that leaves: subject, body, each alternative part, addresses and extra headers."""
        fields = {"subject": email.subject, "body": email.body, "from": email.from_email,
                  "to": ", ".join(email.to), "cc": ", ".join(email.cc), "reply-to": ", ".join(email.reply_to)}
        for index, (content, mimetype) in enumerate(email.alternatives):
            fields[f"alternative {index + 1} ({mimetype})"] = str(content)
        return fields | {f"header {name}": str(value) for name, value in email.extra_headers.items()}

    @classmethod
    def outgoing_fields(cls, message: CustomerMessage) -> dict[str, str]:
        return cls.email_fields(cls._email(message, cls._message_id()))

    def send(self, message: CustomerMessage) -> SendResult:
        message_id = self._message_id()
        email = self._email(message, message_id)
        refuse_card_numbers(self.email_fields(email))
        email.connection = get_connection(self.backend, fail_silently=False)
        try:
            sent = email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            # The server refused the recipient itself: a 5xx is a hard bounce (no such mailbox, domain gone), so the
            # address is marked invalid on the cardholder; a 4xx (mailbox full, greylisting) is retried.
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                               for code, text in exc.recipients.values())
            permanent = all(_is_permanent_code(c) for c in codes)
            raise TransportError(f"Recipient refused: {detail}"[:300], permanent=permanent,
                                 error_code=str(codes[0]) if codes else "", invalid_destination=permanent) from exc
        except smtplib.SMTPDataError as exc:
            # The message was refused, not the address (content, size, policy): not a dead destination.
            raise TransportError(f"Message refused: {exc.smtp_code} {exc.smtp_error!r}"[:300],
                                 permanent=_is_permanent_code(exc.smtp_code), error_code=str(exc.smtp_code)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection, authentication and sender problems are about our side, not this message: retry.
            raise TransportError(f"SMTP error: {type(exc).__name__}: {exc}"[:300], permanent=False) from exc
        except ValueError as exc:  # a malformed address or header can never be sent
            raise TransportError(f"Invalid email: {exc}"[:300], permanent=True) from exc
        if sent != 1:
            raise TransportError("The email backend accepted no message", permanent=False)
        return SendResult(provider_message_id=message_id)
