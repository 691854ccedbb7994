"""Erasure by crypto-shredding, legal holds, connectors, certificates and the erasure log."""
