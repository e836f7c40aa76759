"""cxhub: an open-source customer-experience hub."""

__version__ = "0.1.0"
