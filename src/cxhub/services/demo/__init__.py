"""The demo company: `run` is `make demo` (simulate once, load, refresh, serve) and `live_feed`
keeps the demo company working while you watch."""
