"""The winning label of every record, kept in `current_labels` (a human label beats a model
label, then the newest wins: `cxhub.metrics.facts.best_labels`).

Whatever writes to `labels` calls `refresh_current(wh)` afterwards: it redoes only the records
that got a new label, so it is cheap after a few labels and a rebuild after millions. Metrics
stay right without the call (a query that finds `current_labels` behind reads `labels`
itself, and refreshes first when that is quick); the call keeps them fast.
"""

from __future__ import annotations

from typing import Any

from cxhub.services.metrics import ready_tables
from cxhub.warehouse import Warehouse


def refresh_current(wh: Warehouse, *, full: bool = False) -> dict[str, Any]:
    """Bring `current_labels` up to date with `labels`; returns {"rebuilt": bool, "changed":
    rows changed}."""
    return ready_tables.refresh(wh, full=full, only=("labels",))[0]
