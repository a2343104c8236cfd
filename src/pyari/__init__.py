"""pyari: the Asterisk REST Interface, in Python."""

__version__ = "0.1.0"
