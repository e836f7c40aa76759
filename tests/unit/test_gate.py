"""The warehouse's gate (`warehouse.gate.Gate`): a renewal waits for the readers inside, stops
new ones meanwhile, and gives up (opening again) when they do not leave in time."""

from __future__ import annotations

import threading
import time

from cxhub.warehouse.gate import Gate


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
