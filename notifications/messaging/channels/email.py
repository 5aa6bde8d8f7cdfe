"""Email through Django's email backends (SMTP in production, console in development). Subject, every body part
(the text and any alternative such as HTML), the addresses and the extra headers are checked for card numbers
before the email is handed to the backend."""

import smtplib
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME

from notifications.messaging.channels.base import ChannelAdapter, SendResult, TransportError, refuse_card_numbers
from notifications.models import CustomerMessage


def _is_permanent_code(code: int) -> bool:
    # SMTP 5xx replies are final ("mailbox does not exist", "message rejected"); 4xx are "try again later".
    return 500 <= code < 600


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
        return EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id},
        )

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
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                               for code, text in exc.recipients.values())
            raise TransportError(f"Recipient refused: {detail}"[:300],
                                 permanent=all(_is_permanent_code(c) for c in codes)) from exc
        except smtplib.SMTPDataError as exc:
            raise TransportError(f"Message refused: {exc.smtp_code} {exc.smtp_error!r}"[:300],
                                 permanent=_is_permanent_code(exc.smtp_code)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection, authentication and sender problems are about our side, not this message: retry.
            raise TransportError(f"SMTP error: {type(exc).__name__}: {exc}"[:300], permanent=False) from exc
        except ValueError as exc:  # a malformed address or header can never be sent
            raise TransportError(f"Invalid email: {exc}"[:300], permanent=True) from exc
        if sent != 1:
            raise TransportError("The email backend accepted no message", permanent=False)
        return SendResult(provider_message_id=message_id)
