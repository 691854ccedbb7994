"""Retention enforced: values no purpose may keep any longer are deleted or anonymised."""
