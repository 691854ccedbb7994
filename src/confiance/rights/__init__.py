"""Data subject rights: requests, verification, workflow and deadlines."""
