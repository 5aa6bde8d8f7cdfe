"""Partner API of wallets and cards (base /prepaid/auth/v1/), one module per resource. Views validate input,
resolve ids through the tenant-filtered selectors (another tenant's id is a 404) and call one service; domain errors
become 4xx here.

Access levels (`required_level`): reads 1, writes 2, card reissue 3.

- `common`: what several resources share: access levels, input patterns, the 409 exceptions, the base of every
  request body, the transaction output, the request's audit actor and the wallet/card lookups that answer 404.
- `products`, `cardholders`: card programs and the people who hold cards.
- `wallets`: wallets, their status changes and status history.
- `cards`: cards (kits), their transactions and reissue.
- `simulate`: the sandbox transaction simulator.

`wallets.urls` imports each view from its module; this package re-exports nothing."""
