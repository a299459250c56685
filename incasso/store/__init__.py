"""Persistence: SQLAlchemy models, engine setup, migrations and the raw message store.

Imports nothing of ours.
"""
