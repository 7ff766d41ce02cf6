"""Reservations: booking a space for a night, their states, and the claims passes make."""
