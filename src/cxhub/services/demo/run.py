"""`make demo`: simulate the demo company once, load it, refresh the pipeline, then serve.

Each stage is cached: the simulated files by their parameters, the loaded warehouse by a stamp
holding the manifest's hash. A second `make demo` goes straight to serving.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cxhub.services.pipeline import PipelineReport, refresh
from cxhub.services.records.files import IngestReport, ingest_paths
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoParams:
    customers: int = 50_000
    days: int = 365
    seed: int = 42
    fix_effect: float = 0.3  # the planted permanent fix (`cxhub simulate --fix-effect`)

    def start(self) -> date:
        """The simulated year ends yesterday, so the pages show a living company."""
        return datetime.now(UTC).date() - timedelta(days=self.days)


def simulate_once(data_dir: Path, params: DemoParams, say: Say) -> Path:
    """Simulate into `data_dir` unless files for these parameters, written by this version of
    the simulator, are already there (an older simulator's files lack what this one plants).
    A folder that `cxhub simulate` wrote is the user's company: loaded as it is, whatever its
    options, or written again with the same options if an older simulator wrote it."""
    from cxhub.simulate import SIMULATOR_VERSION, simulate

    stamp = data_dir / "demo-params.json"
    wanted = {"customers": params.customers, "days": params.days, "seed": params.seed,
              "fix_effect": params.fix_effect, "simulator_version": SIMULATOR_VERSION}
    manifest = data_dir / "manifest.json"
    written = data_dir / "simulation.json"  # what `cxhub simulate` was asked for
    if manifest.exists() and stamp.exists():
        done = json.loads(stamp.read_text())
        if {k: done.get(k) for k in wanted} == wanted:
            say(f"demo company already simulated in {data_dir} (start {done.get('start')})")
            return manifest
    elif manifest.exists() and written.exists():
        asked = json.loads(written.read_text())
        options = {k: asked[k] for k in ("customers", "days", "seed")}
        if asked.get("simulator_version") == SIMULATOR_VERSION:
            say(f"loading the company simulated in {data_dir} as it is ({options['customers']:,}"
                f" customers, seed {options['seed']}, from {asked['start']})")
            return manifest
        say(f"{data_dir} was written by an older simulator: simulating it again, same options")
        simulate(data_dir, **options, start=date.fromisoformat(asked["start"]),
                 fix_effect=asked.get("fix_effect", params.fix_effect))
        return manifest
    start = params.start()
    say(f"simulating {params.customers:,} customers over {params.days} days from {start} ...")
    simulate(data_dir, customers=params.customers, days=params.days, seed=params.seed,
             start=start, fix_effect=params.fix_effect)
    stamp.write_text(json.dumps({**wanted, "start": start.isoformat()}))
    return manifest


# The demo company's departments, one per cause (example.com addresses: nothing is sent
# without a `notify` section; see docs/problems.md). Written once; edit it on the Problems page.
DEMO_OWNERSHIP = """# Who owns each problem of the demo company (see docs/problems.md).
cx_lead: cx.lead@example.com
reminder_hours: 4
owners:
  - cause: billing
    department: Billing operations
    owner: billing.owner@example.com
    manager: finance.manager@example.com
  - cause: product
    department: Product and engineering
    owner: product.owner@example.com
    manager: engineering.manager@example.com
  - cause: delivery
    department: Installations and field service
    owner: field.owner@example.com
    manager: operations.manager@example.com
  - cause: pricing
    department: Marketing and pricing
    owner: pricing.owner@example.com
    manager: marketing.manager@example.com
  - cause: service
    department: Customer service
    owner: service.owner@example.com
    manager: cx.lead@example.com
  - cause: other
    department: Customer experience
    owner: cx.analyst@example.com
    manager: cx.lead@example.com
"""


def ownership_map(home: Path) -> bool:
    """Give the demo company its ownership map unless the home has one (the user's own, or
    edited): problems found in the demo go to its departments' owners. Whether written."""
    path = home / "ownership.yaml"
    if path.exists():
        return False
    path.write_text(DEMO_OWNERSHIP)
    return True


def load_once(wh: Warehouse, manifest: Path, settings: Settings, say: Say
              ) -> tuple[IngestReport | None, PipelineReport | None]:
    """Ingest every file of the manifest and refresh the pipeline, once per manifest."""
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    stamp = settings.home / ".demo-loaded"
    if stamp.exists() and stamp.read_text().strip() == digest:
        say("demo company already loaded")
        return None, None
    ownership_map(settings.home)
    report = IngestReport()
    for entry in json.loads(manifest.read_text()):
        path = manifest.parent / entry["path"]
        say(f"loading {entry['kind']} from {entry['source']} ({path.name})")
        part = ingest_paths(wh, "generic", [path], kind=entry["kind"], source=entry["source"])
        report.files += part.files
        report.failed.update(part.failed)
    pipeline = refresh(wh, on_step=lambda name: say(f"computing {name} ..."))
    from cxhub.services.problems.runner import record_planted

    record_planted(wh, manifest.parent)  # the simulator's planted fixes, as actions
    close_explained_alerts(wh, manifest.parent)
    from cxhub.services.forecast.setup import prepare_demo

    prepare_demo(wh, manifest.parent, say)  # opening hours, and a forecast for the staffing
    publish_year(wh, settings, say)
    stamp.write_text(digest)
    return report, pipeline


def close_explained_alerts(wh: Warehouse, data_dir: Path) -> list[int]:
    """Close the alerts the simulator's planted events raised once each event is over (the
    campaign and the week after it, the faulty release, the billing fault until its fix), as
    the company's analysts would once each was explained: left open, the Alerts page listed
    every alert of the year as open, the newest four months old. Alerts outside those windows
    are left as they are. The ids closed."""
    from cxhub.services.listening.detect import set_alert_status

    path = data_dir / "truth" / "events.json"
    if not path.exists():
        return []
    events = json.loads(path.read_text())
    spans = []
    campaign = events.get("marketing_campaign") or {}
    if campaign.get("start") and campaign.get("end_exclusive"):
        spans.append((campaign["start"], date.fromisoformat(campaign["end_exclusive"])
                      + timedelta(days=7)))  # its demand lasts a week after
    release = events.get("faulty_release") or {}
    if release.get("date") and release.get("end_exclusive"):
        spans.append((release["date"], date.fromisoformat(release["end_exclusive"])))
    billing = events.get("billing_problem") or {}
    if billing.get("start") and billing.get("fixed"):
        spans.append((billing["start"], date.fromisoformat(billing["fixed"])))
    closed: list[int] = []
    today = datetime.now(UTC).date()
    for start, end in spans:
        if end > today:
            continue  # not over yet
        found = wh.read("SELECT alert_id FROM alerts WHERE status = 'open' AND window_start "
                        ">= ? AND window_start < ?",
                        [date.fromisoformat(start) - timedelta(days=1), end + timedelta(days=1)])
        for (alert_id,) in found:
            if set_alert_status(wh, int(alert_id), "closed"):
                closed.append(int(alert_id))
    return sorted(closed)


def publish_year(wh: Warehouse, settings: Settings, say: Say) -> int:
    """A daily report for every day of the simulated year, as if published each night."""
    from cxhub.services.public import reports

    first = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "min"))
    if not first or first[0] is None:
        return 0
    since = first[0].date()
    say(f"publishing a daily report for every day since {since} ...")

    def progress(day: date, _: object) -> None:
        if day.day == 1:
            say(f"  reports published up to {day:%B %Y}")

    done = reports.backfill(wh, since, min_count=settings.min_public_count, on_day=progress)
    return sum(d.created for d in done)


DEMO_USER = "demo"


@dataclass(frozen=True)
class DemoLogin:
    user: str
    password: str
    api_key: str


def demo_login(wh: Warehouse, settings: Settings) -> DemoLogin | None:
    """The demo's dashboard account (an admin) and an API key (ingest and read), made on the
    first run and kept in `$CXHUB_HOME/demo-login.json` (readable by its owner only): while
    `cxhub serve` holds the warehouse, no other process can create them. None when someone
    removed that file after the first run: the account is theirs to manage then."""
    from cxhub.services.access.keys import create_key
    from cxhub.services.access.users import create_user, get_user

    note = settings.home / "demo-login.json"
    if note.exists():
        return DemoLogin(**json.loads(note.read_text()))
    if get_user(wh, DEMO_USER) is not None:
        return None
    password = secrets.token_urlsafe(12)
    create_user(wh, username=DEMO_USER, password=password, role="admin")
    _, token = create_key(wh, scopes=["ingest", "read"], name="demo")
    login = DemoLogin(DEMO_USER, password, token)
    note.touch(mode=0o600)
    note.write_text(json.dumps(login.__dict__))
    return login
