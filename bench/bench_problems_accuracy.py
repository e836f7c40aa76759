"""Problems' acceptance figures on simulated companies: the planted fix's measured impact (and
placebos), and the planted incidents found by discovery.

    python bench/bench_problems_accuracy.py --company 7:0.2 --company 11:0.4
        [--customers 50000] [--days 365] [--labels model|truth] [--work /tmp/bench-accuracy]

For each company (seed:effect): `cxhub simulate --seed S --fix-effect F` (cached under --work),
its contact-centre contacts and its calendar loaded into a fresh warehouse, cause and category
labels from `--labels` (`model`: linear models trained on the contacts' wrap-up codes, then
every contact classified, as the listening benchmark does; `truth`: the simulator's own
labels), then
- impact: `cause_impact` on the fix's cause from its date, against the planted effect (within
  10% relative? interval covering it?), and a placebo on every other cause at the same date
  (interval covering zero?);
- discovery: listening alerts, then `discover`; per planted incident (truth/contacts.csv), the
  share of its contacts linked to the problem holding most of them (recall) and the share of
  that problem's contacts that belong to it (precision).
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from cxhub.services.listening import detect as listening
from cxhub.services.problems import discovery, impact
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse


def labelled(wh: Warehouse, data: Path, how: str) -> None:
    if how == "model":
        from cxhub.services.classification.run import classify_pending
        from cxhub.services.classification.training import train

        for dimension in ("category", "cause"):
            train(wh, dimension, "linear", include_source=True)
        classify_pending(wh, targets=("contacts",))
        return
    truth = data / "truth" / "contacts.csv"
    for dim in ("cause", "category"):
        wh.write(lambda c, d=dim: c.execute(
            "INSERT INTO labels (target, target_id, dimension, label, score, model, is_human) "
            f"SELECT 'contacts', x.contact_id, '{d}', y.{d}, 1, 'truth', true FROM contacts x "
            f"JOIN read_csv('{truth}', all_varchar = true) y USING (source, external_id)"))


def incidents(wh: Warehouse, data: Path) -> dict[str, Any]:
    truth = data / "truth" / "contacts.csv"
    rows = wh.read(f"""
        WITH j AS (SELECT c.contact_id, coalesce(t.incident, '') inc FROM contacts c
                   LEFT JOIN read_csv('{truth}', all_varchar = true) t
                   USING (source, external_id)),
        tot AS (SELECT inc, count(*) n FROM j GROUP BY 1),
        pc AS (SELECT p.problem_id, j.inc, count(*) n FROM problem_contacts p
               JOIN j USING (contact_id) GROUP BY ALL),
        ps AS (SELECT problem_id, sum(n) linked FROM pc GROUP BY 1)
        SELECT pc.inc, pc.problem_id, pc.n, tot.n, ps.linked FROM pc JOIN tot USING (inc)
        JOIN ps USING (problem_id) WHERE pc.inc <> '' ORDER BY pc.inc, pc.n DESC""")
    found: dict[str, Any] = {}
    for inc, pid, n, total, linked in rows:
        if inc not in found:
            found[inc] = {"problem_id": pid, "incident_contacts": total, "linked": int(linked),
                          "recall": round(n / total, 3), "precision": round(n / linked, 3)}
    return found


def one(seed: int, effect: float, args: argparse.Namespace) -> dict[str, Any]:
    data = args.work / f"data-{args.customers}-{args.days}-{seed}-{effect}"
    if not (data / "manifest.json").exists():
        simulate(data, customers=args.customers, days=args.days, seed=seed, fix_effect=effect)
    events = json.loads((data / "truth" / "events.json").read_text())
    fix = events["fix"]
    db = args.work / f"wh-{seed}-{effect}-{args.labels}.duckdb"
    out: dict[str, Any] = {"seed": seed, "effect": effect, "fix": fix}
    fresh = not db.exists()
    with Warehouse.open(db) as wh:
        if fresh:
            t = time.perf_counter()
            ingest_paths(wh, "generic", [data / "contact_centre" / "contacts.csv"],
                         kind="contacts", source="contact_centre")
            if (data / "calendar.csv").exists():  # the campaign: planned, a problem all the same
                ingest_paths(wh, "generic", [data / "calendar.csv"], kind="calendar_events",
                             source="planning")
            labelled(wh, data, args.labels)
            out["load_and_label_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        imp = impact.cause_impact(wh, cause=fix["cause"], since=fix["date"])
        out["impact_s"] = round(time.perf_counter() - t, 2)
        est = imp.relative_effect
        out["impact"] = {
            "relative_effect": est, "interval": [imp.relative_low, imp.relative_high],
            "avoided_per_week": imp.avoided_per_week, "weeks_after": imp.weeks_after,
            "within_10pct": est is not None and abs(est + effect) <= 0.1 * effect,
            "covers_planted": imp.relative_low is not None
            and imp.relative_low <= -effect <= imp.relative_high}
        placebos = {}
        for cause in ("billing", "pricing", "product", "service", "other", "delivery"):
            if cause == fix["cause"]:
                continue
            p = impact.cause_impact(wh, cause=cause, since=fix["date"])
            placebos[cause] = {"relative_effect": p.relative_effect,
                               "interval": [p.relative_low, p.relative_high],
                               "covers_zero": p.relative_low <= 0 <= p.relative_high}
        out["placebos"] = placebos
        if args.discovery:
            if fresh:
                listening.detect(wh)
            wh.write(lambda c: [c.execute(f"DELETE FROM {t}") for t in (
                "problems", "problem_contacts", "problem_events")])
            t = time.perf_counter()
            out["discovery_report"] = discovery.discover(wh).to_dict()
            out["discovery_s"] = round(time.perf_counter() - t, 2)
            out["discovery"] = incidents(wh, data)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", action="append", default=[], help="seed:effect")
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--labels", choices=("model", "truth"), default="model")
    ap.add_argument("--no-discovery", dest="discovery", action="store_false")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-accuracy"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for spec in args.company or ["7:0.2", "11:0.4"]:
        seed, effect = spec.split(":")
        results.append(one(int(seed), float(effect), args))
    print(json.dumps({"customers": args.customers, "days": args.days, "labels": args.labels,
                      "companies": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
