"""Write-side services of wallets and cards, one module per job.

Every status change goes through `wallet_status.wallet_change_status` (the partner API, the support console and the
daily sweep alike), which asks `wallets.state_machine` — the one place the transition table lives — and records, emits
and audits in the same transaction as the change. Events leave only through `notifications.outbox.publish_event`.

- `event_data`: the event payload helpers (identifiers and names only, never a card number) and `_money`.
- `issuance`: creation of products, cardholders, wallets and cards (`product_create`, `cardholder_create`,
  `wallet_create`, `card_create`).
- `wallet_status`: `wallet_change_status` with its validation and idempotency, its bulk form
  `wallets_change_status`, `TransitionNotAllowed`,
  `IdempotencyKeyReused` and the status-specific events.
- `card_status`: `card_change_status` and its bulk form `cards_change_status` (`cards_lock`,
  `locked_cards_change_status`), `CardTransitionNotAllowed`.
- `cards`: the card state changes of the daily sweep (`card_expire`, `card_inactivate_for_dormancy` and their bulk
  forms `cards_expire`, `cards_inactivate_for_dormancy`) and `card_reissue` (`CardNotReissuable`).
- `simulation`: the sandbox `transaction_simulate`.

Callers import from the module that does the job, e.g. `from wallets.services.wallet_status import
wallet_change_status`; this package re-exports nothing."""
