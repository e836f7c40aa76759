"""Identity resolution at 100k and 1M source records: time and peak memory of `resolve`.

    python bench/bench_identity.py [--records 100000,1000000] [--seed 7] [--keep]
    python bench/bench_identity.py --records "" --company 200000 --seed 11

The records are generated here: people as four systems hold them, with the variation real
systems show (typos, short first names, initials, street types abbreviated, phone formats,
missing values, an old address after a move, households sharing an address and an email,
duplicates keyed twice). They are written to Parquet, loaded with `cxhub ingest generic` into
a fresh warehouse, and resolved in a process of their own, so that its peak memory (the
child's maximum resident set, from `os.wait4`) is the resolve's alone. Accuracy is scored
against the generator's truth (pairwise precision, recall, F1). `--company N` does the same
with the simulator's company of N customers (`cxhub simulate`, scored against its
`truth/identities.csv`). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FIRST = np.array("""olivia amelia isla ava mia grace freya lily emily ella sophie chloe ruby evie
poppy daisy alice florence rosie isabella jessica lucy hannah charlotte elizabeth katherine
margaret victoria rebecca samantha jennifer sarah emma zoe oliver george harry noah jack leo
arthur oscar charlie henry thomas james william lucas alfie jacob ethan isaac samuel joseph
daniel benjamin alexander matthew michael robert richard edward christopher nicholas anthony
david peter stephen andrew jonathan patrick timothy kenneth mohammed ahmed yusuf omar priya
aisha fatima wei mei hiroshi sven ingrid lars abigail adam aiden alan albert alfred alicia
alison amanda amber amy angela anna annabel anne april archie ashley barbara beatrice bella
bethany brandon brian bruce caitlin callum cameron carl caroline carol catherine cerys claire
colin connor craig dale damian darren dawn dean declan denise derek diana dominic donna dylan
eileen elaine eleanor elliot eric erin eve evelyn faith felix fiona frances frank gareth gavin
gemma gillian gordon graham harriet harvey hazel heather helen holly hugo ian imogen irene
jacqueline jade jake jamie janet jasmine jason jean jeffrey jenna joan joanne jodie john jordan
josh joyce judith julia julie justin karen kayleigh keith kevin kieran kirsty laura lauren leah
lee leon lewis liam lindsay lisa louise luke lydia maisie malcolm marcus maria mark martin
maureen max megan melissa mollie monica morgan nathan neil niamh nicola nigel owen paige pamela
paula paul phoebe rachel raymond rhys rita robyn roger ronald rosemary ross roy russell ryan
sandra scarlett sean seth shannon sharon sheila shirley simon sienna sonia stacey stanley
stuart susan tara teresa tess theo toby tracey trevor tyler valerie vanessa vincent wayne
wendy yvonne zachary zara""".split(), dtype=object)
SHORT = {"william": "bill", "robert": "bob", "richard": "rick", "elizabeth": "liz",
         "katherine": "kate", "margaret": "maggie", "alexander": "alex", "samantha": "sam",
         "jennifer": "jen", "rebecca": "becky", "thomas": "tom", "james": "jim",
         "matthew": "matt", "michael": "mike", "christopher": "chris", "nicholas": "nick",
         "anthony": "tony", "david": "dave", "daniel": "dan", "benjamin": "ben",
         "edward": "ed", "jonathan": "jon", "patrick": "pat", "timothy": "tim",
         "victoria": "vicky", "charlotte": "lottie", "stephen": "steve", "andrew": "andy",
         "peter": "pete", "kenneth": "ken", "joseph": "joe", "samuel": "sam"}  # fmt: skip
LAST = np.array("""smith jones taylor brown williams wilson johnson davies robinson wright
thompson evans walker white roberts green hall wood jackson clarke patel khan lewis james
phillips mason mitchell rose davis rodriguez cox alexander morgan hughes edwards hill moore
clark harrison scott young morris hall ward turner carter phillips baker murphy lee king
parker price bennett griffiths kelly cooper richardson campbell owen marshall bailey chapman
webb ali hussain begum ahmed singh kaur shah chen wang nguyen kowalski novak murray gray
ellis fox dixon palmer mills holmes mcdonald reid knight hunt barker burton""".split(),
                dtype=object)
STREETS = np.array("""mill church park station victoria green manor kings queens grange west
north school new high chapel bridge london york oak elm beech willow ash cedar maple orchard
meadow brook river""".split(), dtype=object)
TYPES = np.array(["street", "road", "lane", "avenue", "close", "drive", "crescent",
                  "gardens"], dtype=object)
SHORT_TYPES = dict(zip(TYPES, ["st", "rd", "ln", "ave", "cl", "dr", "cres", "gdns"],
                       strict=True))
_PARTS = ("ash bel brad brook cal car chester dun el fair glen ham har hazel kings lang lin "
          "mar mill new north oak pen red ridge ros sand shel stan stone sut thorn wal west "
          "wick win wood").split()
_ENDS = "by ford ham ley ton well worth field bury stead mere croft wick dale".split()
# Surnames and towns made of parts, so that there are thousands, used with a long tail as
# real ones are (a few very common, most rare).
SURNAMES = np.array(sorted({a + b for a in _PARTS for b in _ENDS + _PARTS if a != b}
                          | set(LAST)), dtype=object)
TOWNS = np.array(sorted({a + b for a in _PARTS[:20] for b in _ENDS[:10]}), dtype=object)


def _zipf_choice(values: np.ndarray, n: int, rng: np.random.Generator,
                 power: float) -> np.ndarray:
    """Values with a long tail: the most common first name about 3% of people, the most
    common surname under 2%, as in British registers."""
    weights = 1.0 / np.arange(1, len(values) + 1) ** power
    order = rng.permutation(len(values))
    return values[order][rng.choice(len(values), n, p=weights / weights.sum())]
# Which systems know a person, and how often a field is empty there.
SYSTEMS = {"crm": 1.0, "billing": 0.7, "sales": 0.5, "marketing": 0.6}
MISSING = {"crm": {"email": 0.03, "phone": 0.05, "dob": 0.02},
           "billing": {"email": 0.1, "phone": 0.15, "dob": 0.4},
           "sales": {"email": 0.05, "phone": 0.1, "dob": 0.1},
           "marketing": {"first": 0.05, "phone": 0.6, "dob": 0.85, "address": 0.5}}


def make_people(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    first = _zipf_choice(FIRST, n, rng, 0.5)
    last = _zipf_choice(SURNAMES, n, rng, 0.6)
    town = rng.integers(0, len(TOWNS), n)
    house = rng.integers(1, 300, n)
    street = STREETS[rng.integers(0, len(STREETS), n)] + " " + TYPES[rng.integers(0, 8, n)]
    dob = rng.integers(-20000, 12000, n)  # days since 1970
    email = np.char.add(np.char.add(first.astype(str), "."),
                        np.char.add(last.astype(str), np.arange(n).astype(str)))
    email = np.char.add(email, "@mail.example").astype(object)
    phone = np.char.add("07", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    # Households: 10% of people move in with the person before them, half share an email.
    joins = np.flatnonzero(rng.random(n) < 0.1)
    joins = joins[joins > 0]
    last[joins], town[joins], house[joins] = last[joins - 1], town[joins - 1], house[joins - 1]
    street[joins] = street[joins - 1]
    shared = joins[rng.random(len(joins)) < 0.5]
    email[shared] = email[shared - 1]
    moved = rng.random(n) < 0.08
    old_house = np.where(moved, rng.integers(1, 300, n), house)
    old_street = np.where(moved, STREETS[rng.integers(0, len(STREETS), n)] + " road", street)
    old_town = np.where(moved, rng.integers(0, len(TOWNS), n), town)
    return {"first": first, "last": last, "town": town, "house": house, "street": street,
            "dob": dob, "email": email, "phone": phone.astype(object), "moved": moved,
            "old_house": old_house, "old_street": old_street, "old_town": old_town}


def _typo(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    out = values.copy()
    for i in np.flatnonzero(rng.random(len(out)) < rate):
        w = out[i]
        if isinstance(w, str) and len(w) > 3:
            k = int(rng.integers(1, len(w) - 2))
            out[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return out


def system_records(people: dict[str, np.ndarray], system: str, rng: np.random.Generator,
                   prefix: str) -> dict[str, np.ndarray]:
    n = len(people["first"])
    rows = np.flatnonzero(rng.random(n) < SYSTEMS[system])
    if system == "crm":  # 3% keyed twice
        rows = np.concatenate([rows, rows[rng.random(len(rows)) < 0.03]])
    m = len(rows)
    miss = MISSING[system]
    first = people["first"][rows].copy()
    if system != "crm":
        use_short = rng.random(m) < 0.15
        first = np.array([SHORT.get(f, f) if s else f for f, s in zip(first, use_short,
                                                                      strict=True)],
                         dtype=object)
        initial = rng.random(m) < (0.04 if system == "billing" else 0.0)
        first[initial] = [f[0] for f in first[initial]]
    rate = 0.01 if system == "crm" else 0.03
    first, last = _typo(first, rate, rng), _typo(people["last"][rows], rate, rng)
    stale = people["moved"][rows] & (system == "sales" or (system == "marketing"
                                                          and rng.random() < 0.5))
    house = np.where(stale, people["old_house"][rows], people["house"][rows])
    street = np.where(stale, people["old_street"][rows], people["street"][rows])
    town = np.where(stale, people["old_town"][rows], people["town"][rows])
    if system == "billing":
        abbreviate = rng.random(m) < 0.5
        street = np.array([(s.rsplit(" ", 1)[0] + " " + SHORT_TYPES.get(s.rsplit(" ", 1)[1],
                            s.rsplit(" ", 1)[1])) if a else s for s, a in zip(street, abbreviate,
                                                                               strict=True)],
                          dtype=object)
    address = np.char.add(np.char.add(house.astype(str), " "), street.astype(str)).astype(object)
    postcode = np.array([f"T{t % 40}{t // 40} {h % 9}{chr(65 + (h * 7) % 26)}"
                         f"{chr(65 + (h * 3 + t) % 26)}" for t, h in zip(town, house,
                                                                       strict=True)],
                        dtype=object)
    phone = people["phone"][rows]
    if system == "billing":
        phone = np.array(["+44 " + p[1:] for p in phone], dtype=object)
    elif system == "crm":
        phone = np.array([p[:5] + " " + p[5:] for p in phone], dtype=object)

    def blank(values: np.ndarray, key: str) -> np.ndarray:
        out = values.astype(object).copy()
        out[rng.random(m) < miss.get(key, 0.0)] = None
        return out

    dob = people["dob"][rows].astype("datetime64[D]").astype(object)
    return {
        "source": np.full(m, system, dtype=object),
        "external_id": np.array([f"{prefix}{i}" for i in range(m)], dtype=object),
        "first_name": blank(np.char.title(first.astype(str)).astype(object), "first"),
        "last_name": np.char.title(last.astype(str)).astype(object),
        "email": blank(people["email"][rows], "email"),
        "phone": blank(phone, "phone"),
        "date_of_birth": blank(dob, "dob"),
        "address": blank(address, "address"),
        "city": TOWNS[town],
        "postcode": postcode,
        "person": rows,
    }


def generate(records: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    per_person = sum(SYSTEMS.values()) + 0.03
    people = make_people(int(records / per_person) + 1, rng)
    parts = [system_records(people, s, rng, s[0].upper()) for s in SYSTEMS]
    table = pa.concat_tables(pa.table(p) for p in parts)
    return table.slice(0, records)


def _resolve_child(home: str, truth: str | None) -> None:
    """In the child process: resolve the warehouse under `home` and print the report and the
    pairwise quality against the truth (a CSV, else the person id in `attributes`)."""
    from cxhub.analytics.identity.quality import linkage_quality, pairwise_quality
    from cxhub.services.customers.identity import resolve
    from cxhub.warehouse import Warehouse

    with Warehouse.open(Path(home) / "cxhub.duckdb") as wh:
        started = time.perf_counter()
        report = resolve(wh)
        seconds = time.perf_counter() - started
        if truth:
            quality = linkage_quality(wh.cursor(), truth)
        else:
            rows = wh.cursor().execute(PERSON_SQL).fetchnumpy()
            quality = pairwise_quality(rows["customer_id"], rows["person"])
    print(json.dumps({"seconds": round(seconds, 1), "report": report.to_dict(),
                      "quality": quality.to_dict()}, default=str))


# The generator's person id, kept in `attributes`, beside each record's customer.
PERSON_SQL = """
SELECT l.customer_id, r.attributes->>'person' AS person
FROM customer_links l JOIN source_records r USING (source, external_id)
"""


def run(records: int, seed: int, keep: bool, work: Path) -> dict[str, object]:
    home = work / f"identity-{records}"
    home.mkdir(parents=True, exist_ok=True)
    data = home / "source_records.parquet"
    t0 = time.perf_counter()
    table = generate(records, seed)
    pq.write_table(table, data)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxhub", "ingest", "generic", str(data), "--kind",
                    "source_records", "--json"], check=True, capture_output=True,
                   env={**os.environ, "CXHUB_HOME": str(home)})
    loaded = time.perf_counter() - t0
    result = _measured_resolve(home)
    # The same records again: every id is matched to the previous run's (the stable-id path).
    rerun = _measured_resolve(home)
    quality = result["quality"]
    report = result["report"]
    figures = {
        "records": records, "people": int(table.column("person").to_numpy().max()) + 1,
        "customers": report["customers"], "resolve_seconds": result["seconds"],
        "steps": report["seconds"], "peak_rss_mb": result.get("peak_rss_mb"),
        "cpu_seconds": result["cpu_seconds"], "precision": quality["precision"],
        "recall": quality["recall"], "f1": quality["f1"],
        "mixed_customers": quality["mixed_customers"],
        "reviews": report["reviews"], "rerun_seconds": rerun["seconds"],
        "rerun_peak_rss_mb": rerun["peak_rss_mb"],
        "rerun_changes": {k: rerun["report"][k] for k in ("new_customers", "merges", "splits")},
        "generate_seconds": round(generated, 1),
        "ingest_seconds": round(loaded, 1), "conflict_checks": report["model"].get(
            "conflict_checks"),
    }  # fmt: skip
    if not keep:
        for f in home.iterdir():
            f.unlink()
        home.rmdir()
    return figures


def run_company(customers: int, seed: int, keep: bool, work: Path) -> dict[str, object]:
    """The simulator's company (`cxhub simulate`): its person records loaded and resolved,
    scored against its `truth/identities.csv`."""
    from cxhub.simulate import simulate

    home = work / f"company-{customers}-{seed}"
    data = home / "data"
    t0 = time.perf_counter()
    # The least period the simulator allows: person records do not depend on it.
    simulate(data, customers=customers, days=28, seed=seed)
    generated = time.perf_counter() - t0
    manifest = json.loads((data / "manifest.json").read_text())
    files = [str(data / e["path"]) for e in manifest if e["kind"] == "source_records"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxhub", "ingest", "generic", *files, "--kind",
                    "source_records", "--json"], check=True, capture_output=True,
                   env={**os.environ, "CXHUB_HOME": str(home)})
    loaded = time.perf_counter() - t0
    result = _measured_resolve(home, data / "truth" / "identities.csv")
    report, quality = result["report"], result["quality"]
    figures = {
        "company_customers": customers, "seed": seed, "records": report["records"],
        "people": quality["people"], "customers": report["customers"],
        "resolve_seconds": result["seconds"], "steps": report["seconds"],
        "peak_rss_mb": result["peak_rss_mb"], "cpu_seconds": result["cpu_seconds"],
        **{k: quality[k] for k in (
            "precision", "recall", "f1", "mixed_customers", "most_people_in_one")},
        "reviews": report["reviews"],
        "review_share": round(report["reviews"] / max(report["records"], 1), 4),
        "simulate_seconds": round(generated, 1), "ingest_seconds": round(loaded, 1),
    }  # fmt: skip
    if not keep:
        import shutil

        shutil.rmtree(home)
    return figures


def _measured_resolve(home: Path, truth: Path | None = None) -> dict[str, object]:
    """`resolve` in a process of its own; its result and peak resident memory."""
    args = [sys.executable, __file__, "--child", str(home)]
    if truth:
        args += ["--truth", str(truth)]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"resolve in {home} failed ({child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
    # CPU seconds of the child: on a machine shared with other work the wall time grows with
    # the load, the CPU time much less.
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the warehouses.")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--company", default="",
                        help="Also simulated companies of these many customers (e.g. 200000), "
                             "scored against the simulator's truth.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _resolve_child(args.child, args.truth)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="cxhub-bench-identity-"))
    results = [run(int(n), args.seed, args.keep, work) for n in args.records.split(",") if n]
    results += [run_company(int(n), args.seed, args.keep, work)
                for n in args.company.split(",") if n]
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "load_average": os.getloadavg()},
                      "runs": results}, indent=2))


if __name__ == "__main__":
    main()
