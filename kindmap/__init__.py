"""kindmap: find and grow welcoming, free, everyday places where people connect."""

__version__ = "0.1.0"
