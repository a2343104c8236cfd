"""pyari.core."""
