"""Accounts: registration, tokens, and the admin's management of accounts."""
