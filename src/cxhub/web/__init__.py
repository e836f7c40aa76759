"""The web app: REST API, public transparency pages, internal dashboard."""
