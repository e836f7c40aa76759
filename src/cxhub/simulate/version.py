"""Which simulator wrote a folder (`simulation.json`, and the demo's `demo-params.json`)."""

# Bumped whenever the same options would write different files (a changed model, a new file),
# so a demo folder written by an older simulator is simulated again (services/demo/run.py).
# 2: every item ends, the UK week and opening hours, the planted fix, the planning files.
# 3: the rota sized by Erlang C's requirement (was load + sqrt(load): mostly under-staffed).
# 4: campaign contacts mention the offer (phrases.CAMPAIGN_DETAILS).
# 5: ... after their usual detail (kept).
# 6: opening_hours.yaml says whose hours e-mail, web and letters keep (business_hours).
# 7: holdings carry their minimum term (attributes: term_months, contract_end).
# 8: the rota runs 14 days past the period (roster.csv), with a planted gap (truth: rota_gap).
SIMULATOR_VERSION = 8
