"""Partner API of the subscriptions app, one module per resource: `subscriptions` (event subscriptions),
`secrets` (their signing secrets), `event_types` (the event catalog); `fields` holds the serializer fields they
share. Import the views from those modules."""
