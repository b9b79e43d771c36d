"""Shared kernel: database, auth and permissions, audit chain, errors, events, crypto, time."""
