"""Consent ledger: per-purpose decisions with proof, GPC, TCF and propagation."""
