"""Load files into the warehouse: the use case behind `cxhub ingest`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cxhub.domain.errors import CxhubError
from cxhub.ingest.loader import FileResult, ingest_file
from cxhub.ingest.mapping import load_mapping
from cxhub.warehouse import Warehouse


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # path -> why nothing could be read

    @property
    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "loaded", "existing", "quarantined")
        return {k: sum(int(getattr(f, k)) for f in self.files) for k in keys}

    @property
    def top_reasons(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for f in self.files:
            for reason, n in f.reasons.items():
                counts[reason] = counts.get(reason, 0) + n
        return sorted(counts.items(), key=lambda kv: -kv[1])[:10]

    def to_dict(self) -> dict[str, object]:
        return {
            "totals": self.totals,
            "top_reasons": [{"reason": r, "count": n} for r, n in self.top_reasons],
            "files": [f.to_dict() for f in self.files],
            "failed": [{"path": p, "error": e} for p, e in self.failed.items()],
        }


def ingest_paths(
    wh: Warehouse,
    fmt: str,
    paths: list[Path],
    *,
    source: str | None = None,
    kind: str | None = None,
    encoding: str | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> IngestReport:
    """Load each file as its own batch. A file that cannot be read at all is reported in
    `failed` and the others still load. For the generic format the kind may come from the
    file name (contacts.csv -> contacts)."""
    report = IngestReport()
    for path in paths:
        if on_file:
            on_file(path)
        try:
            mapping = load_mapping(fmt, kind=kind or _kind_from_name(fmt, path))
            report.files.append(
                ingest_file(wh, mapping, path, source=source, encoding=encoding, on_phase=on_phase)
            )
        except CxhubError as exc:
            report.failed[str(path)] = str(exc)
    return report


def _kind_from_name(fmt: str, path: Path) -> str | None:
    if fmt != "generic":
        return None
    return path.name.split(".")[0]
