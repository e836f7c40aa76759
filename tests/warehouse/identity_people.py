"""A small, seeded population of people as two systems hold them, for identity tests.

The CRM writes each person cleanly; billing holds most of them again with the variation real
systems show (a typo, a street type abbreviated, the phone in international format, a missing
date of birth). Enough records for Splink to train on without labels, in a second or two.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

FIRST = ("olivia", "amelia", "isla", "ava", "mia", "grace", "freya", "lily", "emily", "ella",
         "oliver", "george", "harry", "noah", "jack", "leo", "arthur", "oscar", "charlie",
         "henry", "thomas", "james", "william", "lucas", "alfie", "sophie", "chloe", "ruby",
         "evie", "poppy", "daisy", "alice", "florence", "rosie", "jacob", "ethan", "isaac",
         "samuel", "joseph", "daniel")  # fmt: skip
LAST = ("smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies",
        "robinson", "wright", "thompson", "evans", "walker", "white", "roberts", "green",
        "hall", "wood", "jackson", "clarke", "patel", "khan", "lewis", "james", "phillips",
        "mason", "mitchell", "rose", "davis", "rodriguez", "cox", "alexander", "morgan",
        "hughes", "edwards", "hill", "moore", "clark", "harrison", "scott")  # fmt: skip
STREETS = ("mill", "church", "park", "station", "victoria", "green", "manor", "kings",
           "queens", "grange", "west", "north", "school", "new", "high")  # fmt: skip
TYPES = (("road", "rd"), ("street", "st"), ("lane", "ln"), ("avenue", "ave"), ("close", "cl"))
TOWNS = (("ashbridge", "AB"), ("brackenford", "BF"), ("carrowmere", "CM"), ("dunhallow", "DH"),
         ("elmstead", "EL"), ("fernleigh", "FL"))  # fmt: skip
COLUMNS = ("source", "external_id", "first_name", "last_name", "email", "phone",
           "date_of_birth", "address", "city", "postcode", "updated_at")  # fmt: skip


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def people(n: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        street, (long, short) = rng.choice(STREETS), rng.choice(TYPES)
        town, area = rng.choice(TOWNS)
        out.append({
            "person": f"p{i}", "first_name": first, "last_name": last,
            "email": f"{first}.{last}{rng.randrange(10, 99)}@example.com",
            "phone": "07" + "".join(str(rng.randrange(10)) for _ in range(9)),
            "date_of_birth": f"{rng.randrange(1940, 2004)}-{rng.randrange(1, 13):02d}-"
                             f"{rng.randrange(1, 29):02d}",
            "address": f"{rng.randrange(1, 200)} {street} {long}", "short": short, "long": long,
            "city": town, "postcode": f"{area}{rng.randrange(1, 30)} {rng.randrange(1, 10)}"
                                      f"{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
        })  # fmt: skip
    return out


def crm_record(p: dict[str, str]) -> dict[str, str]:
    return {"source": "crm", "external_id": f"C{p['person'][1:]}",
            "first_name": p["first_name"].title(), "last_name": p["last_name"].title(),
            "email": p["email"], "phone": f"{p['phone'][:5]} {p['phone'][5:]}",
            "date_of_birth": p["date_of_birth"], "address": p["address"].title(),
            "city": p["city"].title(), "postcode": p["postcode"],
            "updated_at": "2024-01-10 09:00:00"}  # fmt: skip


def billing_record(p: dict[str, str], rng: random.Random) -> dict[str, str]:
    last = _typo(p["last_name"], rng) if rng.random() < 0.1 else p["last_name"]
    address = p["address"]
    if rng.random() < 0.5:
        address = address.removesuffix(p["long"]) + p["short"]
    return {"source": "billing", "external_id": f"B{p['person'][1:]}",
            "first_name": p["first_name"].upper(), "last_name": last.upper(),
            "email": p["email"] if rng.random() < 0.85 else "",
            "phone": "+44 " + p["phone"][1:],
            "date_of_birth": p["date_of_birth"] if rng.random() < 0.7 else "",
            "address": address, "city": p["city"], "postcode": p["postcode"].replace(" ", ""),
            "updated_at": "2024-03-01 12:00:00"}  # fmt: skip


def population(n: int, seed: int = 7, billing_share: float = 0.7) -> list[dict[str, str]]:
    """CRM records for everyone, billing records for a share of them."""
    rng = random.Random(seed + 1)
    rows = []
    for p in people(n, seed):
        rows.append(crm_record(p))
        if rng.random() < billing_share:
            rows.append(billing_record(p, rng))
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path
