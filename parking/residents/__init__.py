"""Residents: compounds and the residence whitelist, verification, and residents' vehicles."""
