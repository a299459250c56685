"""Bank statement import and payment matching (not built yet)."""
