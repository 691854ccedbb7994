"""Staff accounts: passwords (argon2id), mandatory TOTP, lockout, server-side sessions, roles."""
