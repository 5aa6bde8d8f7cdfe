"""Customer messages: `routing` plans which channels a cardholder gets for an event (at ingest), `sending` claims,
sends through `channels` and records each message (in the worker), `trial` sends one by hand."""
