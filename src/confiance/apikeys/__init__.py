"""apikeys domain."""
