"""pyari.channels."""
