"""Write-side services of the subscriptions app: partners, API tokens, event subscriptions and their signing secrets.

Every change is audited (`audit_record`) in the same transaction. Callers (partner API, admin, management commands)
pass the audit `channel` and `actor`; the services never read a request. Import from the submodules:
`partners`, `tokens`, `subscriptions`, `secrets`."""
