"""Views of the partner portal, one module per area: `signin` (password, TOTP, one-time links, re-authentication,
the security page), `pages` (overview, catalog, audit trail, signature helper), `subscription_views`, `deliveries`,
`tokens`. Each view checks the role its method needs (`required_level`, the API's access levels)."""
