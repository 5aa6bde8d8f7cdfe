"""The partner portal: a self-serve web console where a partner's engineers see, test, debug and replay their
webhooks (docs/portal.md). Server-rendered Django templates with htmx; every change goes through the same services
as the partner API."""
