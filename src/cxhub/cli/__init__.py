"""The `cxhub` command line: one command group per use case; commands stay thin."""
