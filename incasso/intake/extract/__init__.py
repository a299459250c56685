"""Invoice extraction from PDF text layers and Peppol UBL files."""
