"""A small company planted for the offers tests: customers with a declared segment (families,
seniors, others), their source links, and a year of SPEED-BOOST-500 decisions with a 10%
control group where, as in the demo's truth, families accept 24% when offered and 4% in
control, seniors 4% either way, others 10% vs 4%."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from cxhub.warehouse import Warehouse

SEGMENTS = ("family", "senior", "student")
RATES = {"family": (0.24, 0.04), "senior": (0.04, 0.04), "student": (0.10, 0.04)}
TODAY = date.today()


def plant(wh: Warehouse, *, customers: int = 3000, decisions: int = 24_000, seed: int = 7,
          opted_out: tuple[int, ...] = (), complaint_open: tuple[int, ...] = (),
          problem: dict[int, str] | None = None) -> pd.DataFrame:
    """`problem`: customer id -> the state of a problem one of their contacts is linked to."""
    # Customer ids are 1..customers; CRM ids `C<id>`. Returns the planted decisions.
    rng = np.random.default_rng(seed)
    ids = np.arange(1, customers + 1)
    segment = np.array(SEGMENTS, dtype=object)[ids % 3]
    age = np.where(segment == "senior", 70, np.where(segment == "family", 40, 21))
    dob = [date(TODAY.year - int(a), 6, 1) for a in age]
    cust = pd.DataFrame({"customer_id": ids, "date_of_birth": dob, "region": "London",
                         "customer_since": [date(2020, 1, 1)] * customers})
    ext = [f"C{i}" for i in ids]
    attrs = [f'{{"segment": "{s}"' + (', "marketing_opt_in": false' if i in opted_out else "")
             + "}" for i, s in zip(ids, segment, strict=True)]
    src = pd.DataFrame({"record_id": ids, "source": "crm", "external_id": ext,
                        "attributes": attrs})
    links = pd.DataFrame({"source": "crm", "external_id": ext, "customer_id": ids})
    who = rng.integers(0, customers, decisions)
    control = rng.random(decisions) < 0.1
    seg = segment[who]
    p = np.array([RATES[s][1 if c else 0] for s, c in zip(seg, control, strict=True)])
    accepted = rng.random(decisions) < p
    start = datetime.combine(TODAY, datetime.min.time()) - timedelta(days=400)
    at = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 360 * 1440, decisions)]
    dec = pd.DataFrame({
        "decision_id": np.arange(1, decisions + 1), "source": "contact_centre",
        "external_id": [f"K{i}-OFFER" for i in range(decisions)],
        "customer_source": "crm", "customer_external_id": np.array(ext, dtype=object)[who],
        "offer_code": "SPEED-BOOST-500", "presented_at": at,
        "outcome": np.where(accepted, "accepted", "declined"), "control": control,
        "revenue": np.where(accepted & ~control, 120.0, 0.0)})
    complaints = pd.DataFrame({
        "contact_id": np.arange(1, len(complaint_open) + 1), "source": "contact_centre",
        "external_id": [f"X{i}" for i in complaint_open], "customer_source": "crm",
        "customer_external_id": [f"C{i}" for i in complaint_open], "channel": "phone",
        "created_at": datetime.now() - timedelta(days=2), "category": "complaint"})

    problem = problem or {}
    linked = pd.DataFrame({
        "contact_id": np.arange(1000, 1000 + len(problem)), "source": "contact_centre",
        "external_id": [f"P{i}" for i in problem], "customer_source": "crm",
        "customer_external_id": [f"C{i}" for i in problem], "channel": "phone",
        "created_at": datetime.now() - timedelta(days=20), "category": "problem",
        "resolved_at": datetime.now() - timedelta(days=19)})
    problems = pd.DataFrame({"problem_id": np.arange(1, len(problem) + 1),
                             "title": [f"Fault {i}" for i in problem],
                             "status": list(problem.values())})
    links_p = pd.DataFrame({"problem_id": np.arange(1, len(problem) + 1),
                            "contact_id": np.arange(1000, 1000 + len(problem))})
    complaints = pd.concat([complaints, linked], ignore_index=True)

    def write(con: duckdb.DuckDBPyConnection) -> None:
        for table, frame in (("customers", cust), ("source_records", src),
                             ("customer_links", links), ("offer_decisions", dec),
                             ("contacts", complaints), ("problems", problems),
                             ("problem_contacts", links_p)):
            con.register("frame", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
            con.unregister("frame")
    wh.write(write)
    return dec.assign(segment=seg)
