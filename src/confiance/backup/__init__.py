"""Backup and restore of an installation's database; a restore replays the erasure log, so a
backup taken before an erasure never brings that customer back."""
