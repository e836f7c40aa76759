"""A brake on password guessing that never locks the real user out.

Three counts of failed logins over a 15-minute window:
- per username and address (5): one guesser at one address is slowed at once;
- per address (20): one address trying many usernames;
- per username from addresses the user has never logged in from (50): a guesser who rotates
  addresses is slowed too, yet the real user, at an address they have logged in from before,
  keeps their way in whatever strangers try.
An admin's password reset clears the user's counts. The counts are kept in a small JSON file in
the home folder (bounded), so restarting the server does not hand a guesser fresh tries.

The address is the TCP peer unless `CXHUB_TRUSTED_PROXIES` names the proxies whose
X-Forwarded-For may be believed (see `cxhub serve`): rotating that header gains nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("cxhub.dashboard")

_MAX_KEYS = 10_000
_KNOWN_PER_USER = 20


class LoginThrottle:
    def __init__(self, *, per_pair: int = 5, per_address: int = 20, per_user: int = 50,
                 window: float = 900.0, path: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = {"pair": per_pair, "addr": per_address, "user": per_user}
        self.window = window
        self.clock = clock
        self._path = path
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._known: dict[str, list[str]] = {}  # username -> addresses of past logins
        self._load()

    def retry_after(self, username: str, address: str) -> float:
        """Seconds to wait before this user may try again from this address (0: go ahead)."""
        with self._lock:
            wait = 0.0
            for kind, key in self._keys(username, address):
                q = self._recent(key)
                if len(q) >= self.limits[kind]:
                    wait = max(wait, q[0] + self.window - self.clock())
            return wait

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            if len(self._failures) > _MAX_KEYS:  # forget the quietest keys rather than grow
                for key in [k for k in self._failures if not self._recent(k)]:
                    del self._failures[key]
            now = self.clock()
            for _, key in self._keys(username, address, counting=True):
                self._failures.setdefault(key, deque()).append(now)
            self._save()

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(f"pair:{username}|{address}", None)
            known = self._known.setdefault(username, [])
            if address not in known:
                known.append(address)
                del known[:-_KNOWN_PER_USER]
            self._save()

    def forgive(self, username: str) -> None:
        """An admin reset the user's password: their failures no longer count."""
        with self._lock:
            for key in [k for k in self._failures
                        if k == f"user:{username}" or k.startswith(f"pair:{username}|")]:
                del self._failures[key]
            self._save()

    def _keys(self, username: str, address: str, *, counting: bool = False
              ) -> list[tuple[str, str]]:
        keys = [("pair", f"pair:{username}|{address}"), ("addr", f"addr:{address}")]
        if counting or address not in self._known.get(username, ()):
            keys.append(("user", f"user:{username}"))
        return keys

    def _recent(self, key: str) -> deque[float]:
        q = self._failures.get(key, deque())
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def _load(self) -> None:
        if self._path is None or not self._path.exists():
            return
        try:
            data = json.loads(self._path.read_text())
            self._failures = {k: deque(v) for k, v in data.get("failures", {}).items()}
            self._known = {k: list(v) for k, v in data.get("known", {}).items()}
        except (ValueError, AttributeError, TypeError):
            log.warning("login throttle: %s is unreadable; starting afresh", self._path)

    def _save(self) -> None:
        if self._path is None:
            return
        data = {"failures": {k: list(q) for k, q in self._failures.items() if q},
                "known": self._known}
        tmp = self._path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data))
            tmp.replace(self._path)
        except OSError:  # a full or read-only disk must not stop logins
            log.warning("login throttle: could not write %s", self._path)
