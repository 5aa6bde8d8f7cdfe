"""Rendering a customer message from its partner's template, in the messaging worker, just before it is sent.

Never at ingest: a partner's template is untrusted code. `templates.rendering` bounds every render (time, size,
loop iterations) and turns any failure into a TemplateContentError; here a failure fails that one message (FAILED
with skip reason `template_error`, its fallback channel tried), and nothing else."""

import logging
from dataclasses import dataclass

from notifications.messaging.routing import KnownSubjects, SkipReason, subjects_resolve
from notifications.models import CustomerMessage
from templates.rendering import TemplateContentError, template_content_render
from templates.variables import Subject, template_context

logger = logging.getLogger(__name__)

_SUBJECT_MAX = CustomerMessage._meta.get_field("subject").max_length


@dataclass(frozen=True)
class Rendered:
    subject: str = ""
    body: str = ""
    html: str = ""  # emails: the HTML alternative
    error: str = ""  # why it could not be rendered ("" when it was)
    skip_reason: str = ""


def message_render(message: CustomerMessage, *, subject: Subject | None) -> Rendered:
    """The message's subject and body from its template, for the cardholder, card and wallet it is about."""
    template = message.template
    if template is None:
        return Rendered(error="Its template was deleted before it was sent.", skip_reason=SkipReason.NO_TEMPLATE)
    if subject is None or subject.cardholder is None:
        return Rendered(error="Its cardholder can no longer be found.", skip_reason=SkipReason.CARDHOLDER_NOT_FOUND)
    event = message.event
    context = template_context(
        event_name=event.event_name, data=event.data if isinstance(event.data, dict) else {}, subject=subject,
        occurred_at=event.occurred_at, partner_name=event.partner.name,
    )
    try:
        rendered = template_content_render(subject=template.subject, body=template.body, context=context,
                                           html_body=template.html_body, email=message.channel == "EMAIL")
    except TemplateContentError as exc:
        logger.warning("Template %s failed to render for message %s: %s", template.pk, message.pk, exc.message)
        return Rendered(error=f"Template {template.pk}: {exc.message}"[:500], skip_reason=SkipReason.TEMPLATE_ERROR)
    except Exception as exc:  # templates.rendering turns every failure into the error above; this is the backstop
        logger.exception("Template %s crashed rendering message %s", template.pk, message.pk)
        return Rendered(error=f"Template {template.pk} could not be rendered ({type(exc).__name__})."[:500],
                        skip_reason=SkipReason.TEMPLATE_ERROR)
    return Rendered(subject=rendered.subject[:_SUBJECT_MAX], body=rendered.body, html=rendered.html)


def messages_render(messages: list[CustomerMessage], known: KnownSubjects | None = None) -> dict[int, Rendered]:
    """`message_render` for the messages among `messages` that are not rendered yet, with what they are about
    resolved for all of them at once (a few queries per batch, none for the events in `known`). Keyed by message
    id."""
    # Not rendered yet: those with a template, and those whose template was deleted before they were rendered
    # (no template and no text). A row with text and no template was written rendered (a test send, old rows).
    todo = [m for m in messages if m.rendered_at is None and (m.template_id is not None or not m.body)]
    if not todo:
        return {}
    events = list({m.event_id: m.event for m in todo}.values())
    subjects = dict(zip((e.pk for e in events), subjects_resolve(events, known), strict=True))
    return {m.pk: message_render(m, subject=subjects[m.event_id]) for m in todo}
