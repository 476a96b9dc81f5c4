"""Trading rules as pure domain code."""
