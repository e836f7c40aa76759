"""Agents needed for a service-level target, checked inputs, shrinkage and maximum occupancy.

`agents_needed` works on whole arrays (a staffing plan of every interval of every channel, or
a million rows in the benchmark): the service level and the occupancy are monotone in the
agents, so each row's answer is found by doubling then halving the agents, all rows at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cxhub.analytics.staffing.erlang import QueueFigures, erlang_a, erlang_c
from cxhub.domain.errors import CxhubError

# Past this many agents for one interval the inputs are surely wrong (and the search stops).
MAX_AGENTS = 1_000_000
_EPS = 1e-9


class StaffingInputError(CxhubError, ValueError):
    """Inputs that make staffing meaningless or impossible; the message names the value."""


def figures(agents: ArrayLike, arrivals: ArrayLike, interval_seconds: ArrayLike,
            aht_seconds: ArrayLike, answer_within_seconds: ArrayLike,
            patience_seconds: ArrayLike | None = None) -> QueueFigures:
    """Erlang A when a patience is given, else Erlang C."""
    if patience_seconds is None:
        return erlang_c(agents, arrivals, interval_seconds, aht_seconds, answer_within_seconds)
    return erlang_a(agents, arrivals, interval_seconds, aht_seconds, answer_within_seconds,
                    patience_seconds)


def agents_needed(arrivals: ArrayLike, interval_seconds: ArrayLike, aht_seconds: ArrayLike,
                  target: ArrayLike, answer_within_seconds: ArrayLike,
                  patience_seconds: ArrayLike | None = None,
                  max_occupancy: ArrayLike = 1.0) -> NDArray[np.int64]:
    """The fewest agents meeting the service-level target and the maximum occupancy, per row.
    Rows with no arrivals need no agents. Raises StaffingInputError when no number will do."""
    arr = [np.asarray(v, dtype=float) for v in (arrivals, interval_seconds, aht_seconds, target,
                                                answer_within_seconds, max_occupancy)]
    pat = None if patience_seconds is None else np.asarray(patience_seconds, dtype=float)
    shape = np.broadcast_shapes(*(a.shape for a in arr))
    # Flat copies: each step below evaluates only the rows still searching.
    lam_n, ivl, aht, tgt, t, occ_max = (np.broadcast_to(a, shape).ravel() for a in arr)
    if pat is not None:
        pat = np.broadcast_to(pat, shape).ravel()
    _check_arrays(tgt, occ_max)
    load = lam_n / ivl * aht
    busy = lam_n > 0

    def ok(n: NDArray[np.float64], rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        f = figures(n, lam_n[rows], ivl[rows], aht[rows], t[rows],
                    None if pat is None else pat[rows])
        return (f.service_level >= tgt[rows] - _EPS) & (f.occupancy <= occ_max[rows] + _EPS)

    # lo never meets the target, hi always does (after the doubling).
    if pat is None:
        # Erlang C needs more agents than the load, and occupancy is exactly load / agents.
        lo = np.maximum(np.floor(load), np.ceil(load / occ_max - _EPS) - 1)
    else:
        # Callers who hang up let fewer agents than the load do, but not fewer than the target
        # share of it: n agents serve at most n / load of the callers (throughput is at most
        # n / AHT), so the share answered in time is below the target under target x load.
        lo = np.maximum(np.floor(tgt * load * (1 - 1e-6)) - 1, 0.0)
    step = np.maximum(np.ceil(np.sqrt(load)), 1.0)
    hi = lo + step
    rows = np.flatnonzero(busy)
    if pat is not None and rows.size:
        # Erlang C's answer, a few times cheaper, is where Erlang A's usually is or a few
        # agents above (callers who hang up shorten the queue): start there and walk down.
        hi[rows] = agents_needed(lam_n, ivl, aht, tgt, t, None, occ_max)[rows]
        lo, hi, rows = _walk_down(lo, hi, rows, ok)
        hi[rows] = lo[rows] + step[rows]
    while True:
        too_many = rows[hi[rows] > MAX_AGENTS]
        if too_many.size:
            i = int(too_many[0])
            raise StaffingInputError(
                f"no number of agents up to {MAX_AGENTS:,} reaches the target {tgt[i]:g} "
                f"within {t[i]:g} s (row {i}: {lam_n[i]:g} arrivals, AHT "
                f"{aht[i]:g} s)")
        rows = rows[~ok(hi[rows], rows)]
        if not rows.size:
            break
        lo[rows] = hi[rows]
        step[rows] *= 2
        hi[rows] += step[rows]
    rows = np.flatnonzero(busy & (hi - lo > 1))
    while rows.size:
        mid = np.floor((lo[rows] + hi[rows]) / 2)
        fine = ok(mid, rows)
        hi[rows[fine]] = mid[fine]
        lo[rows[~fine]] = mid[~fine]
        rows = rows[hi[rows] - lo[rows] > 1]
    return np.where(busy, hi, 0).astype(np.int64).reshape(shape)


def _walk_down(floor: NDArray[np.float64], hi: NDArray[np.float64], rows: NDArray[np.intp],
               ok: Callable[[NDArray[np.float64], NDArray[np.intp]], NDArray[np.bool_]],
               ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """From a guess `hi` per row: where it meets the target, fewer agents one, two, four ...
    below it until one does not (never below `floor`, which never meets it), giving the
    bracket (lo, hi] for the halving. Returns (lo, hi, the rows whose guess fell short: their
    lo is the guess, their hi is for the doubling upward to set)."""
    lo = floor.copy()
    met = ok(hi[rows], rows)
    short = rows[~met]
    lo[short] = hi[short]
    rows = rows[met]
    step = np.ones(rows.size)
    while rows.size:
        below = np.maximum(hi[rows] - step, lo[rows])
        at_floor = below <= lo[rows]
        fine = ~at_floor
        fine[~at_floor] = ok(below[~at_floor], rows[~at_floor])
        hi[rows[fine]] = below[fine]
        failed = ~fine & ~at_floor
        lo[rows[failed]] = below[failed]
        keep = fine & (hi[rows] - lo[rows] > 1)
        rows, step = rows[keep], step[keep] * 2
    return lo, hi, short


def with_shrinkage(agents: ArrayLike, shrinkage: float) -> NDArray[np.int64]:
    """Agents to schedule so that `agents` are on the phones when a share `shrinkage` of paid
    time goes to breaks, training and absence."""
    if not 0 <= shrinkage < 1:
        raise StaffingInputError(f"shrinkage must be at least 0 and below 1, got {shrinkage:g}")
    # The epsilon keeps 14 / 0.7 at 20, not 21 (it is 20.000000000000004 in floats).
    return np.ceil(np.asarray(agents, dtype=float) / (1 - shrinkage) - _EPS).astype(np.int64)


def _check_arrays(target: NDArray[np.float64], max_occupancy: NDArray[np.float64]) -> None:
    if np.any((target <= 0) | (target >= 1)):
        bad = float(target[(target <= 0) | (target >= 1)].flat[0])
        raise StaffingInputError(
            f"the service-level target must be above 0 and below 1 (no number of agents "
            f"answers every call in time), got {bad:g}")
    if np.any((max_occupancy <= 0) | (max_occupancy > 1)):
        bad = float(max_occupancy[(max_occupancy <= 0) | (max_occupancy > 1)].flat[0])
        raise StaffingInputError(f"the maximum occupancy must be above 0 and at most 1, "
                                 f"got {bad:g}")


@dataclass(frozen=True)
class Staffing:
    """One interval's answer, as `cxhub staff erlang` prints it."""

    model: str
    arrivals: float
    interval_minutes: float
    aht_seconds: float
    load_erlangs: float
    agents: int
    agents_with_shrinkage: int
    service_level: float
    occupancy: float
    p_wait: float
    asa_seconds: float
    p_abandon: float | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        if self.p_abandon is None:
            d.pop("p_abandon")
        return d


def staff(*, arrivals: float, interval_minutes: float, aht_seconds: float, target: float,
          answer_within_seconds: float, patience_seconds: float | None = None,
          agents: int | None = None, shrinkage: float = 0.0,
          max_occupancy: float = 1.0) -> Staffing:
    """The agents needed for one interval (or, with `agents`, what that many deliver)."""
    for name, value in (("arrivals", arrivals), ("interval minutes", interval_minutes),
                        ("AHT seconds", aht_seconds)):
        if not math.isfinite(value) or value <= 0:
            raise StaffingInputError(f"{name} must be a positive number, got {value:g}")
    if not math.isfinite(answer_within_seconds) or answer_within_seconds < 0:
        raise StaffingInputError(
            f"answer-within seconds must be 0 or more, got {answer_within_seconds:g}")
    if patience_seconds is not None and (not math.isfinite(patience_seconds)
                                         or patience_seconds <= 0):
        raise StaffingInputError(
            f"patience seconds must be a positive number, got {patience_seconds:g}")
    if agents is not None and agents < 1:
        raise StaffingInputError(f"agents must be at least 1, got {agents}")
    ivl = interval_minutes * 60
    if agents is None:
        agents = int(agents_needed(arrivals, ivl, aht_seconds, target, answer_within_seconds,
                                   patience_seconds, max_occupancy))
    else:
        _check_arrays(np.asarray([target], dtype=float), np.asarray([max_occupancy], dtype=float))
    f = figures(agents, arrivals, ivl, aht_seconds, answer_within_seconds, patience_seconds)
    return Staffing(
        model="erlang_c" if patience_seconds is None else "erlang_a",
        arrivals=arrivals, interval_minutes=interval_minutes, aht_seconds=aht_seconds,
        load_erlangs=arrivals / ivl * aht_seconds, agents=agents,
        agents_with_shrinkage=int(with_shrinkage(agents, shrinkage)),
        service_level=float(f.service_level), occupancy=float(f.occupancy),
        p_wait=float(f.p_wait), asa_seconds=float(f.asa_seconds),
        p_abandon=None if patience_seconds is None else float(f.p_abandon))
