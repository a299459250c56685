"""Rendering of messages to debtors, the outbox and the transports that deliver it."""
