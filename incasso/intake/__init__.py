"""Receiving mail (SMTP receiver, drop folder), parsing it, extracting invoices, routing.

Imports store and cases, never outbound.
"""
