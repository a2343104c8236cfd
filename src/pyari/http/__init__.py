"""pyari.http."""
