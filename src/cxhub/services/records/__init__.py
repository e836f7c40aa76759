"""Records in: `files` loads files (`cxhub ingest`), `api` takes records posted to the REST API."""
