"""Webhook delivery: `planning` decides which subscriptions get an event (called by ingest), `payloads` builds the
body, `delivery` takes a batch, signs (`signing`) and sends it (`sender`, through the SSRF guard in `egress`),
`recording` writes attempts and outcomes on the retry schedule, `health` disables endpoints that keep failing."""
