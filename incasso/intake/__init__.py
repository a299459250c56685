"""Receiving mail (SMTP receiver, IMAP mailboxes, drop folder, uploads), parsing it, checking
the sender, extracting invoices, routing.

Imports store and cases, never outbound.
"""
