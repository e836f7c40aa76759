"""The simulator's call-centre constants still match a fresh measurement of the real log."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from cxhub.simulate import calibration as cal

REPO = Path(__file__).resolve().parents[2]
LOG = REPO / ".." / "shared" / "data" / "callcenter" / "anonymous_bank_1999_02.tsv"

pytestmark = pytest.mark.realdata


def _measuring_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "measure_callcenter", REPO / "scripts" / "measure_callcenter.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict[str, object]:
    if not LOG.is_file():
        pytest.skip(
            f"the call-centre log {LOG.resolve()} is absent (../shared/data sits beside the repo)"
        )
    return _measuring_script().measure(LOG)


def test_published_counts(figures: dict[str, object]) -> None:
    assert figures["calls"] == 33_344
    assert figures["outcomes"] == {"AGENT": 27_162, "HANG": 5_904, "PHANTOM": 278}
    assert abs(figures["served_mean_s"] - 176) < 1 and figures["served_median_s"] == 107


@pytest.mark.parametrize(
    "name",
    [
        "CALLS", "OUTCOMES", "SERVED_MEAN_S", "SERVED_MEDIAN_S", "AGENT_SERVICE_MEAN_S",
        "AGENT_SERVICE_MEDIAN_S", "SERVICE_LOG_MU", "SERVICE_LOG_SIGMA", "PHANTOM_SHARE",
        "QUEUED_SHARE", "ABANDON_SHARE_OF_QUEUED", "MEAN_TIME_IN_QUEUE_S", "PATIENCE_MEAN_S",
        "VIRTUAL_WAIT_MEAN_S", "VRU_MEDIAN_S",
    ],
)  # fmt: skip
def test_constant_matches_measurement(figures: dict[str, object], name: str) -> None:
    assert getattr(cal, name) == figures[name.lower()]


def test_shapes_match_measurement(figures: dict[str, object]) -> None:
    assert list(cal.HOUR_SHAPE) == figures["hour_shape"]
    assert list(cal.WEEKDAY_SHAPE) == figures["weekday_shape"]
