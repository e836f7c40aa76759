"""Person records as each system holds them: CRM, billing, marketing automation and sales.

The same person is written differently in each system, at the rates in `rates.py`: nicknames,
typos, initials, the address before a move, abbreviations, phone formats, empty fields. The
CRM is the cleanest; sales holds the address the contract was signed at.
"""

from __future__ import annotations

import numpy as np

from cxhub.simulate import names as nm
from cxhub.simulate import rates as r
from cxhub.simulate.people import FIRST, NICK, REGION, TOWN, People
from cxhub.simulate.plan import DAY, Plan

NO_DATE = -(2**62)  # a missing date (dates before 1970 are negative day numbers)
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_ABBREVIATE = {f" {k}": f" {v}" for k, v in nm.STREET_ABBREVIATIONS.items()}


def ids(prefix: str, numbers: np.ndarray, width: int = 8) -> np.ndarray:
    numbers = np.asarray(numbers)
    if numbers.size == 0:  # numpy's zfill fails on an empty array (a tiny company's chunk)
        return np.empty(0, dtype=object)
    return prefix + np.char.zfill(numbers.astype(str), width).astype(object)


def crm_ids(index: np.ndarray) -> np.ndarray:
    return ids("C", index)


def crm_duplicate_ids(index: np.ndarray) -> np.ndarray:
    return ids("C", 50_000_000 + index)


def billing_ids(index: np.ndarray) -> np.ndarray:
    return ids("BA", index)


def second_billing_ids(index: np.ndarray) -> np.ndarray:
    return ids("BA", 60_000_000 + index)


def sales_ids(index: np.ndarray) -> np.ndarray:
    return ids("S", index)


def marketing_ids(index: np.ndarray) -> np.ndarray:
    return ids("MK", index)


def typo(word: str, rng: np.random.Generator) -> str:
    """One keying slip: a letter dropped, doubled, swapped with the next, or mistyped."""
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(0, 4))
    if op == 0:
        return word[:i] + word[i + 1 :]
    if op == 1:
        return word[:i] + word[i] + word[i:]
    if op == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    letter = "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(0, 26))]
    return word[:i] + letter + word[i + 1 :]


def _with_typos(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    for i in np.flatnonzero(rng.random(len(values)) < rate):
        out[i] = typo(out[i], rng)
    return out


def _blank(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    out[rng.random(len(values)) < rate] = None
    return out


def _blank_int(values: np.ndarray, rate: float, rng: np.random.Generator, none: int) -> np.ndarray:
    return np.where(rng.random(len(values)) < rate, none, values)


def _phone(national: np.ndarray, style: str) -> np.ndarray:
    # National numbers "07123456789"; systems disagree on spacing and the country code.
    if style == "spaced":
        return np.array([f"{p[:5]} {p[5:]}" for p in national], dtype=object)
    if style == "international":
        return np.array([f"+44 {p[1:]}" for p in national], dtype=object)
    return national.copy()


def record_columns(
    people: People,
    rows: np.ndarray,
    system: str,
    external_id: np.ndarray,
    plan: Plan,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The `source_records` columns for `people[rows]` as `system` holds them."""
    n = len(rows)
    clean = system == "crm"
    first = FIRST[people.first[rows]].copy()
    if not clean:
        nick = NICK[people.first[rows]]
        use_nick = (nick != "") & (rng.random(n) < r.NICKNAME_RATE)
        first[use_nick] = nick[use_nick]
        initial = rng.random(n) < (0.04 if system == "billing" else 0.0)
        first[initial] = np.array([f[0] for f in first[initial]], dtype=object)
    typo_rate = r.CRM_TYPO_RATE if clean else r.TYPO_RATE
    first = _with_typos(first, typo_rate, rng)
    last = _with_typos(people.last[rows].copy(), typo_rate, rng)

    # Which address the system holds after a move.
    if system in ("crm", "billing"):
        stale = np.zeros(n, dtype=bool)
    elif system == "sales":
        stale = np.ones(n, dtype=bool)
    else:
        stale = rng.random(n) < 0.5
    home, prev = people.home, people.previous
    street = np.where(stale, prev.street[rows], home.street[rows])
    town = np.where(stale, prev.town[rows], home.town[rows])
    postcode = np.where(stale, prev.postcode[rows], home.postcode[rows])
    if system == "billing":
        abbreviate = rng.random(n) < 0.5
        street[abbreviate] = np.array([_abbreviate(s) for s in street[abbreviate]], dtype=object)
    if system == "marketing":
        postcode = np.char.replace(postcode.astype(str), " ", "").astype(object)

    phone_style = {"crm": "spaced", "billing": "international"}.get(system, "plain")
    email = people.email[rows].copy()
    if system == "marketing":
        email = np.char.lower(email.astype(str)).astype(object)
    elif system == "sales":
        upper = rng.random(n) < 0.1
        email[upper] = np.char.capitalize(email[upper].astype(str)).astype(object)
    since_day = people.since_day[rows]
    missing = r.MISSING[system]
    cols: dict[str, np.ndarray] = {
        "source": np.full(n, system, dtype=object),
        "external_id": external_id,
        "first_name": _blank(first, missing.get("first_name", 0.0), rng),
        "last_name": last,
        "email": _blank(email, missing.get("email", 0.0), rng),
        "phone": _blank(_phone(people.phone[rows], phone_style), missing.get("phone", 0.0), rng),
        "date_of_birth": _blank_int(
            people.dob_days[rows], missing.get("date_of_birth", 0.0), rng, NO_DATE
        ),
        "address": _blank(street, missing.get("address", 0.0), rng),
        "city": TOWN[town],
        "postcode": postcode,
        "region": REGION[town],
        "country": np.full(n, "GB", dtype=object),
        "customer_since": plan.start.toordinal() - _EPOCH_ORDINAL + since_day,
        "updated_at": _updated_at(plan, since_day, rng),
    }
    if system == "marketing":
        cols["customer_since"] = np.full(n, NO_DATE)
    if clean:
        cols["segment"] = np.array(r.SEGMENTS, dtype=object)[people.segment[rows]]
    return cols


def _updated_at(plan: Plan, since_day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A record was last updated some day between the customer's joining (or the start of the
    simulated year) and its last day: never after the exports were written."""
    first = since_day.clip(0, plan.days - 1)
    day = first + (rng.random(len(first)) * (plan.days - first)).astype(np.int64)
    updated: np.ndarray = plan.start_s + day * DAY + rng.integers(0, DAY, len(first))
    return updated


def _abbreviate(street: str) -> str:
    for long, short in _ABBREVIATE.items():
        if street.endswith(long):
            return street[: -len(long)] + short
    return street
