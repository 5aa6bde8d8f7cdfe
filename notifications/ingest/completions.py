"""Seed 004's once-only rule: TRANSACTION_COMPLETED reaches a partner at most once per transaction (the
`transactionId` in its data); a later completion of the same transaction is stored and sent as
TRANSACTION_STATUS_CHANGED with `previousStatus` and `newStatus`.

Decided in the database, inside the batch's transaction: the batch locks one TransactionCompletion row per
(tenant, transactionId) it touches (`sql.transaction_states_lock`), so a second bridge with the same transaction
waits for the first one's commit and reads its decision. The messages are then walked in batch (= partition)
order. A TRANSACTION_STATUS_CHANGED from the topic updates the status the next one starts from, and gets its
`previousStatus` from it when it has none.

An event stored otherwise than its message carried keeps the message in a RewrittenEvent row, so a redelivery of
that message is a repeat (not a reused eventId)."""

from dataclasses import dataclass

from notifications.ingest import sql
from notifications.ingest.dead_letters import dead_letter
from notifications.ingest.parsing import ParsedMessage
from notifications.models import DeadLetter, RewrittenEvent

COMPLETED = "TRANSACTION_COMPLETED"
STATUS_CHANGED = "TRANSACTION_STATUS_CHANGED"
# The status of a completion whose data names none.
DEFAULT_COMPLETED_STATUS = "COMPLETED"
REWRITE_REASON = "transaction_completed_again"
FILLED_REASON = "previous_status_filled"
MISSING_TRANSACTION_ID = (
    "missing_field",
    "TRANSACTION_COMPLETED needs a non-empty data.transactionId (string or integer): it is sent once per transaction "
    "and a later completion becomes TRANSACTION_STATUS_CHANGED, both keyed by that id.",
)


@dataclass(frozen=True)
class Received:
    """What a rewritten message carried."""

    name: str
    data: dict
    reason: str


def _transaction_id(data: dict) -> str | None:
    value = data.get("transactionId")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:128] if text else None


def _status(value: object) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)[:64]


def transactions_once(
    fresh: list[ParsedMessage], tenants: dict[str, sql.Tenant]
) -> tuple[list[ParsedMessage], list[DeadLetter], dict[int, Received]]:
    """Apply the rule to the batch's new messages (in batch order). Returns the messages to store (those it rewrote
    changed in place), the dead letters (a completion without a transactionId), and what each rewritten message
    carried, by id() of its ParsedMessage."""
    if not any(p.event_name in (COMPLETED, STATUS_CHANGED) for p in fresh):
        return fresh, [], {}
    kept: list[ParsedMessage] = []
    dead: list[DeadLetter] = []
    keyed: list[tuple[tuple[int, str], ParsedMessage]] = []
    for p in fresh:
        if p.event_name in (COMPLETED, STATUS_CHANGED):
            transaction_id = _transaction_id(p.data)
            if transaction_id is not None:
                keyed.append(((tenants[p.tenant_id].pk, transaction_id), p))
            elif p.event_name == COMPLETED:
                dead.append(dead_letter(p.raw, *MISSING_TRANSACTION_ID))
                continue
        kept.append(p)
    if not keyed:
        return kept, dead, {}
    states = sql.transaction_states_lock(sorted({key for key, _ in keyed}))
    received: dict[int, Received] = {}
    for key, p in keyed:
        state = states[key]
        if p.event_name == COMPLETED:
            new = _status(p.data.get("transactionStatus")) or DEFAULT_COMPLETED_STATUS
            if not state.completed:
                state.completed, state.completed_event_id = True, p.event_id
            else:
                received[id(p)] = Received(p.event_name, p.data, REWRITE_REASON)
                p.event_name = STATUS_CHANGED
                p.data = {**p.data, "previousStatus": state.status, "newStatus": new}
        else:
            new = _status(p.data.get("newStatus"))
            if state.status and "previousStatus" not in p.data:
                received[id(p)] = Received(p.event_name, p.data, FILLED_REASON)
                p.data = {**p.data, "previousStatus": state.status}
        if new and new != state.status:
            state.status = new
        state.changed = True
    sql.transaction_states_save(states)
    return kept, dead, received


def rewrites_store(stored: list[tuple[int, ParsedMessage]], received: dict[int, Received]) -> None:
    """Keep what each rewritten message carried, beside its stored event (event pk, message)."""
    if received:
        RewrittenEvent.objects.bulk_create([
            RewrittenEvent(event_id=pk, received_name=r.name, received_data=r.data, reason=r.reason)
            for pk, p in stored if (r := received.get(id(p))) is not None
        ])
