"""The staff web application."""
