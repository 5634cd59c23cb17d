"""Notify: the outbox of e-mail and SMS messages, delivered with retry."""
