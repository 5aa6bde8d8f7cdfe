"""Operating the service: readiness (`health`, `heartbeats`), `metrics`, the admin `dashboard`, `retention`, the
demo data and receiver of `make run`, and the development Kafka broker (`devbroker`)."""
