"""The customer view: `identity` (resolution and the review queue), `segments` and `retention`
(value models), `read` (one customer or contact for the API and pages), `contacts` (the contacts
behind a figure)."""
