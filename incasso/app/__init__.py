"""Settings, command line and process wiring."""
