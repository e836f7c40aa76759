"""Listening: `detect` finds volume spikes of mentions and contacts and stores them as alerts,
`webhook` sends alerts out (retried), `route` turns mentions that need service into contacts."""
