"""What the public sees: `figures` (catalogue metrics made safe to publish: small counts hidden),
`outlook` (open now, expected wait, best time), `live` (the live tick), `reports` (the daily report,
frozen per day)."""
