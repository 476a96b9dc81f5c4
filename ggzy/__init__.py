"""ggzy."""
