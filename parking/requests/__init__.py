"""Residents' requests for a night's allocation: submit, withdraw, see the outcome."""
