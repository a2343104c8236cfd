"""pyari.dialplan."""
