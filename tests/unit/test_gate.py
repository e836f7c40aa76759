"""The warehouse's gate (`warehouse.gate.Gate`): a renewal waits for the readers inside, stops
new ones meanwhile, and gives up (opening again) when they do not leave in time."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

from cxhub.warehouse.gate import Gate
from cxhub.web.gate import ReadGate


def test_a_renewal_waits_for_the_readers_inside_and_holds_new_ones() -> None:
    gate = Gate()
    gate.enter()  # a request being served
    shut: list[bool] = []
    renewal = threading.Thread(target=lambda: shut.append(gate.shut(5.0)))
    renewal.start()
    time.sleep(0.1)
    assert not shut, "shut while a reader was inside"
    assert not gate.try_enter(), "a new reader came in while a renewal waited"
    gate.leave()
    renewal.join(5)
    assert shut == [True]
    entered = threading.Event()
    late = threading.Thread(target=lambda: (gate.enter(), entered.set()))
    late.start()
    time.sleep(0.1)
    assert not entered.is_set(), "a reader came in while the gate was shut"
    gate.open()
    late.join(5)
    assert entered.is_set() and gate.readers == 1


def test_a_renewal_gives_up_when_a_reader_stays_and_lets_readers_in_again() -> None:
    gate = Gate()
    gate.enter()
    started = time.monotonic()
    assert gate.shut(0.2) is False
    assert 0.15 < time.monotonic() - started < 2
    assert gate.try_enter(), "the gate stayed shut after the renewal gave up"
    gate.leave()
    gate.leave()
    assert gate.shut(0.2) is True
    assert gate.shut(0.0) is False, "a second renewal took a gate already shut"
    gate.open()


def test_a_thread_enters_once_however_deep_its_rounds() -> None:
    gate = Gate()
    with gate.reading():
        with gate.reading():
            assert gate.readers == 1
        assert gate.readers == 1
    assert gate.readers == 0
    assert gate.shut(0.0) is True  # nobody inside


def _request_through_the_gate(gate: Gate, inner: Any) -> Any:
    wh = SimpleNamespace(gate=gate)
    scope = {"type": "http", "path": "/public/api/summary",
             "app": SimpleNamespace(state=SimpleNamespace(warehouse=wh))}
    return ReadGate(inner)(scope, None, None)  # type: ignore[arg-type]


def test_a_request_is_inside_while_served_and_a_client_gone_while_waiting_leaves() -> None:
    async def run() -> None:
        gate = Gate()
        seen: list[int] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            seen.append(gate.readers)

        await _request_through_the_gate(gate, inner)
        assert seen == [1] and gate.readers == 0
        assert gate.shut(0.0)
        waiting = asyncio.create_task(_request_through_the_gate(gate, inner))
        await asyncio.sleep(0.1)
        assert seen == [1], "served while the gate was shut"
        waiting.cancel()  # the client went away while waiting for the renewal
        gate.open()
        for _ in range(50):
            await asyncio.sleep(0.02)
            if gate.readers == 0:
                break
        assert gate.readers == 0, "a request that never ran stayed counted inside"
        assert gate.shut(0.0), "a renewal could never shut the gate again"

    # On a thread of its own: the suite's earlier tests may leave an event loop set on this one
    failed: list[BaseException] = []
    runner = threading.Thread(target=lambda: _run_catching(run, failed))
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "the request through the gate did not finish"
    if failed:
        raise failed[0]


def _run_catching(run: Any, failed: list[BaseException]) -> None:
    try:
        asyncio.run(run())
    except BaseException as exc:  # noqa: BLE001 - raised again on the test's thread
        failed.append(exc)
