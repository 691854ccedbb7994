"""Mail to customers: a transactional outbox delivered over SMTP (or to a folder in the demo)."""
