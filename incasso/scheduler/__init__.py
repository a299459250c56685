"""APScheduler wiring: short periodic jobs that read due work from the database."""
