"""The catalogue's `incremental_revenue_per_contact` against a hand computation on five
contacts and four decided offers (and an offer without a control group, which adds nothing).

Offer X: offered in c1 (accepted, 120), c2 (declined), c3 (accepted, 80); held out in c4
(declined). Held-out share 1/4, revenue per acceptance (120 + 80) / 2 = 100. Acceptance 2/3
offered vs 0/1 control: +2/3 per decision, x 100 = 66.67 a decision, x 4 decisions = 266.67,
over 5 contacts (c5 had no offer) = 53.33. By channel: phone holds c1 and c2 (one offered
acceptance: 100 / (3/4) = 133.33, over 2 contacts = 66.67), chat c3, c4 and c5 (133.33 / 3 =
44.44). Offer Y, in c5, has no control group: no figure to add.
"""

from __future__ import annotations

import pytest
from tests.warehouse.test_metrics_hand import insert

from cxhub.metrics import compute, default_catalogue
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def test_incremental_revenue_per_service_contact_by_hand(warehouse: Warehouse) -> None:
    insert(warehouse, "contacts", "channel, created_at", [
        ("phone", "2024-03-04 10:00"), ("phone", "2024-03-05 10:00"),
        ("chat", "2024-03-05 11:00"), ("chat", "2024-03-06 09:00"),
        ("chat", "2024-03-07 09:00")], key="contact_id")
    insert(warehouse, "offer_decisions",
           "offer_code, contact_external_id, presented_at, control, outcome, revenue", [
               ("X", "c1", "2024-03-04 10:01", False, "accepted", 120.0),
               ("X", "c2", "2024-03-05 10:01", False, "declined", None),
               ("X", "c3", "2024-03-05 11:01", False, "accepted", 80.0),
               ("X", "c4", "2024-03-06 09:01", True, "declined", None),
               ("Y", "c5", "2024-03-07 09:01", False, "accepted", 500.0),
               ("X", "c5", "2024-03-07 09:02", False, None, None)],  # no outcome yet
           key="decision_id")
    backend = connect(duckdb_connection=warehouse.cursor())
    week = {"start": "2024-03-04", "end": "2024-03-10"}
    m = "incremental_revenue_per_contact"
    [total] = compute(backend, m, **week)
    assert total["value"] == pytest.approx((2 / 3 - 0) * 100 * 4 / 5)
    assert total["value"] == pytest.approx(53.333, abs=1e-3)
    by = {r["channel"]: r["value"] for r in compute(backend, m, by="channel", **week)}
    assert by["phone"] == pytest.approx(100 / 0.75 / 2)
    assert by["chat"] == pytest.approx(100 / 0.75 / 3)
    assert default_catalogue().get(m).format(total["value"]) == "53.33"
