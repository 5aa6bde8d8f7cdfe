"""Ingest: the first stage. `bridge` consumes the topic, `batch.ingest_batch` turns a batch into events, deliveries
and messages in one transaction (`parsing` checks each message against the contract, `dead_letters` keeps what
cannot be ingested, `sql` holds its statements), and the bridge enqueues the work after commit."""
