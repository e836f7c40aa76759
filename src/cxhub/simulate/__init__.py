"""The demo company simulator: a broadband-and-mobile provider's exports, with planted truths.

`simulate(out_dir, customers=..., days=..., seed=..., start=...)` writes CSV files per source
system, a manifest in load order, and `truth/` (identities, contact labels, events, churn).
It imports only `cxhub.domain`, numpy and pyarrow, and never touches the warehouse.
"""

from cxhub.simulate.company import simulate

# Bumped whenever the same options would write different files (a changed model, a new file),
# so a demo folder written by an older simulator is simulated again (services/demo.py).
# 2: every item ends, the UK week and opening hours, the planted fix, the planning files.
SIMULATOR_VERSION = 2

__all__ = ["SIMULATOR_VERSION", "simulate"]
