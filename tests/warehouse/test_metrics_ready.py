"""The hand-computed metric tests again, answered from the ready-made tables.

The tests are those of tests/warehouse/test_metrics_hand.py, run with this module's `metric`
fixture: `cxhub.services.metrics.compute.compute`, which brings the current labels, repeat gaps,
tenures and hourly and daily sums up to date after each test's inserts and answers from them
wherever they can answer (whole hours and days, the dimensions they keep). The fixture checks
that every ready-made table was up to date, so the figures really came from them.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.warehouse import test_metrics_coverage as coverage_tests
from tests.warehouse import test_metrics_hand as hand
from tests.warehouse import test_metrics_segments as segment_tests

from cxhub.services.metrics import compute as metrics
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

globals().update({name: test for name, test in vars(hand).items() if name.startswith("test_")})
for _more in (coverage_tests, segment_tests):  # comparisons' coverage, segment dimensions
    globals().update({n: t for n, t in vars(_more).items() if n.startswith("test_")})


@pytest.fixture
def metric(warehouse: Warehouse) -> hand.Metric:
    def run(name: str, **kwargs: Any) -> list[dict[str, Any]]:
        rows = metrics.compute(warehouse, name, **{**hand.WEEK, **kwargs})
        used = metrics.backend(warehouse).ready
        assert used is not None and used.labels and used.repeats and used.tenures, used
        assert used.sums, "the hourly and daily sums were not up to date"
        return rows

    return run
