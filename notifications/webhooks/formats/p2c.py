"""The `p2c` body (seed 004): `{"EventId", "EventName", "Data"}` with PascalCase names throughout.

- EventName: seed 004's five names for the events it defines (`P2C_EVENT_NAMES`); for every other event the catalog
  name in PascalCase (`KIT_STATUS_UPDATE` -> `KitStatusUpdate`, `CARD_3DS_CHALLENGE` -> `Card3dsChallenge`).
- Data: every key in PascalCase (`transactionId` -> `TransactionId`, nested objects too); values unchanged (amounts
  stay decimal strings, so no precision is lost). For the five seed events, seed 004's field names where the seed
  names one (`P2C_FIELDS`: the card is `CreditCardId` or `CardToken`, old/new statuses are `OldStatus`/`NewStatus`
  or `OldTransactionStatus`/`NewTransactionStatus`, in lower case as in the seed) and its time fields
  (`StatusChangedAt`, `TransactionRequestedAt`, `CompletedAt`) from occurredAt when the data has none."""

from notifications.webhooks.formats.fields import EventFields

P2C_EVENT_NAMES: dict[str, str] = {
    "CARD_AUTHORIZED": "CardAuthorized",
    "CARD_STATUS_CHANGED": "CardStatusChanged",
    "TRANSACTION_BATCH_COMPLETED": "Transaction",
    "TRANSACTION_STATUS_CHANGED": "TransactionStatusChanged",
    "TRANSACTION_COMPLETED": "TransactionCompleted",
}

# Seed 004's own names for fields of its events: catalog variable -> P2C field.
P2C_FIELDS: dict[str, dict[str, str]] = {
    "CARD_AUTHORIZED": {"cardId": "CardToken"},
    "CARD_STATUS_CHANGED": {"cardId": "CreditCardId", "previousStatus": "OldStatus", "newStatus": "NewStatus"},
    "TRANSACTION_STATUS_CHANGED": {"cardId": "CreditCardId", "previousStatus": "OldTransactionStatus",
                                   "newStatus": "NewTransactionStatus"},
    "TRANSACTION_COMPLETED": {"cardId": "CreditCardId"},
    "TRANSACTION_BATCH_COMPLETED": {},
}
# Seed 004's time fields, filled from occurredAt when the data does not carry them.
P2C_TIME_FIELDS: dict[str, tuple[str, ...]] = {
    "CARD_STATUS_CHANGED": ("StatusChangedAt",),
    "TRANSACTION_STATUS_CHANGED": ("StatusChangedAt",),
    "TRANSACTION_COMPLETED": ("TransactionRequestedAt",),
    "TRANSACTION_BATCH_COMPLETED": ("CompletedAt",),
}
# Seed 004 writes these statuses in lower case ("active", "succeeded").
_LOWER_CASE_VALUES = frozenset({"OldStatus", "NewStatus", "OldTransactionStatus", "NewTransactionStatus"})

_pascal_cache: dict[str, str] = {}


def pascal_case(name: str) -> str:
    """`transactionId` -> `TransactionId`, `KIT_STATUS_UPDATE` -> `KitStatusUpdate`, `last4` -> `Last4`."""
    converted = _pascal_cache.get(name)
    if converted is None:
        name = str(name)
        if "_" in name or name.isupper():
            converted = "".join(part[:1].upper() + part[1:].lower() for part in name.split("_") if part)
        else:
            converted = name[:1].upper() + name[1:]
        if len(_pascal_cache) < 10_000:  # bounded: keys come from partners' data
            _pascal_cache[name] = converted
    return converted


def p2c_event_name(event_name: str) -> str:
    return P2C_EVENT_NAMES.get(event_name) or pascal_case(event_name)


def _convert(value: object) -> object:
    if isinstance(value, dict):
        return {pascal_case(k): _convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(item) for item in value]
    return value


def p2c_data(fields: EventFields) -> dict:
    renames = P2C_FIELDS.get(fields.event_name)
    if renames is None:
        # Most events: names only (this runs for every event a p2c subscription receives, so it stays lean).
        return {pascal_case(k): (_convert(v) if isinstance(v, dict | list) else v) for k, v in fields.data.items()}
    converted: dict = {}
    for key, value in fields.data.items():
        name = renames.get(key) or pascal_case(key)
        if name in _LOWER_CASE_VALUES and isinstance(value, str):
            value = value.lower()
        converted[name] = _convert(value)
    for name in P2C_TIME_FIELDS.get(fields.event_name, ()):
        if name not in converted:
            converted[name] = fields.occurred_at_text
    return converted


def p2c_envelope(fields: EventFields) -> dict:
    return {"EventId": fields.event_id, "EventName": p2c_event_name(fields.event_name), "Data": p2c_data(fields)}
