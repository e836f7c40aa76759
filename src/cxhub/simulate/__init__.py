"""The demo company simulator: a broadband-and-mobile provider's exports, with planted truths.

`simulate(out_dir, customers=..., days=..., seed=..., start=...)` writes CSV files per source
system, a manifest in load order, and `truth/` (identities, contact labels, events, churn).
It imports only `cxhub.domain`, numpy and pyarrow, and never touches the warehouse.
"""

from cxhub.simulate.company import simulate
from cxhub.simulate.version import SIMULATOR_VERSION

__all__ = ["SIMULATOR_VERSION", "simulate"]
