"""The case lifecycle, payment references and the Belgian money and term rules."""
