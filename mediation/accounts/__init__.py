"""Accounts: users, roles, login, one-time codes, identity checks, institutions, courts."""
