"""pyari.ari."""
