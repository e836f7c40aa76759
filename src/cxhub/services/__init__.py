"""Use cases that cross capabilities; the CLI and the web app call these and nothing deeper."""
