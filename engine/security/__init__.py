"""Authentication: SASL mechanisms (sans-I/O)."""
