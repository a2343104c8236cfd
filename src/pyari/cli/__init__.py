"""pyari.cli."""
