"""Who may do what: `users` (dashboard users, roles, passwords, sessions) and `keys` (API keys
with scopes)."""
