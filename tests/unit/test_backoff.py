"""Background work that fails: one line naming the file and the reason, longer waits, one line
when it works again (the real server on a read-only folder: tests/reliability/test_read_only.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cxhub.domain.errors import WarehouseUnavailableError
from cxhub.services.backoff import REMIND_EVERY, Backoff

LOG = logging.getLogger("cxhub.test.backoff")
REFUSED = WarehouseUnavailableError(
    "the warehouse /data/cxhub.duckdb could not be written: No space left on device; nothing "
    "of this write was kept", reason="No space left on device")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_refusing_disk_is_one_line_and_the_waits_grow(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    backoff = Backoff("refreshing the tables", LOG, clock=clock)
    caplog.set_level(logging.INFO, logger=LOG.name)
    waits = []
    for _ in range(8):
        assert backoff.due()
        waits.append(backoff.failed(REFUSED))
        assert not backoff.due()
        clock.now += waits[-1]
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    (said,) = caplog.records  # the same reason is not said again within ten minutes
    assert said.exc_info is None and said.levelno == logging.ERROR
    assert said.getMessage().startswith(
        "refreshing the tables failed: the warehouse /data/cxhub.duckdb could not be written: "
        "No space left on device")

    clock.now += REMIND_EVERY  # still failing ten minutes on: said once more
    backoff.failed(REFUSED)
    assert len(caplog.records) == 2 and "failure 9" in caplog.records[1].getMessage()

    clock.now = backoff.retry_at
    backoff.succeeded()
    assert caplog.records[2].getMessage() == \
        "refreshing the tables works again, after 9 failed runs"
    assert backoff.due() and backoff.failed(REFUSED) == 2  # a new episode starts over


def test_an_os_error_names_its_file(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOG.name)
    error = PermissionError(13, "Permission denied", str(Path("/data/models/offers")))
    Backoff("offers", LOG).failed(error)
    assert "offers failed: /data/models/offers could not be written: Permission denied" in \
        caplog.records[0].getMessage()
    assert caplog.records[0].exc_info is None


def test_a_fault_of_ours_keeps_its_traceback_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOG.name)
    clock = Clock()
    backoff = Backoff("classifier", LOG, clock=clock)
    for _ in range(3):
        try:
            {}["missing"]  # noqa: B018 - a bug in a run, as a KeyError
        except KeyError as exc:
            backoff.failed(exc)
        clock.now = backoff.retry_at
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None
    assert "classifier failed: KeyError: 'missing'" in caplog.records[0].getMessage()
