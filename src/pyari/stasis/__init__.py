"""pyari.stasis."""
