"""The brake on password guessing: guessers are slowed, the real user is never locked out."""

from __future__ import annotations

from pathlib import Path

from cxhub.web.dashboard.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_one_guesser_at_one_address_waits_after_five_failures() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock)
    for _ in range(5):
        assert t.retry_after("ana", "10.0.0.9") == 0
        t.failed("ana", "10.0.0.9")
    assert t.retry_after("ana", "10.0.0.9") > 800
    assert t.retry_after("ana", "10.0.0.7") == 0  # another address is not this guesser
    clock.now += 901
    assert t.retry_after("ana", "10.0.0.9") == 0  # the window has passed


def test_rotating_addresses_is_slowed_but_the_real_user_gets_in() -> None:
    clock = Clock()
    t = LoginThrottle(clock=clock)
    t.succeeded("ana", "192.0.2.1")  # Ana's usual address
    for i in range(50):
        t.failed("ana", f"198.51.100.{i}")
    assert t.retry_after("ana", "198.51.100.200") > 0  # a new address: the guesser waits
    assert t.retry_after("ana", "192.0.2.1") == 0  # Ana at her own address does not


def test_one_address_trying_many_users_waits() -> None:
    t = LoginThrottle(clock=Clock())
    for i in range(20):
        t.failed(f"user{i}", "203.0.113.5")
    assert t.retry_after("someone-else", "203.0.113.5") > 0


def test_a_password_reset_forgives_and_a_restart_forgets_nothing(tmp_path: Path) -> None:
    clock, path = Clock(), tmp_path / "login-throttle.json"
    t = LoginThrottle(clock=clock, path=path)
    for _ in range(5):
        t.failed("ana", "10.0.0.9")
    again = LoginThrottle(clock=clock, path=path)  # the server restarted
    assert again.retry_after("ana", "10.0.0.9") > 0
    again.forgive("ana")
    assert again.retry_after("ana", "10.0.0.9") == 0
    assert LoginThrottle(clock=clock, path=path).retry_after("ana", "10.0.0.9") == 0
    path.write_text("{not json")
    assert LoginThrottle(clock=clock, path=path).retry_after("ana", "x") == 0
