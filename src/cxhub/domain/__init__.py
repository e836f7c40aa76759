"""The vocabulary of cxhub: channels, categories, causes, record kinds, errors. Pure, no I/O."""
