"""Refresh everything derived from the raw tables, in dependency order.

Each step is a use case of its own capability; the pipeline only orders them and reports.
A step whose capability is not installed or has nothing to work on says so and is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxhub.warehouse import Warehouse

StepFn = Callable[[Warehouse], Any]


@dataclass
class StepResult:
    name: str
    seconds: float
    summary: Any = None
    skipped: str | None = None


@dataclass
class PipelineReport:
    steps: list[StepResult] = field(default_factory=list)


def _steps() -> list[tuple[str, StepFn]]:
    """The steps, in order. Imported here so that a missing optional extra skips one step."""
    steps: list[tuple[str, StepFn]] = []
    try:
        from cxhub.services.customers import identity

        steps.append(("identity", lambda wh: identity.resolve(wh)))
    except ImportError:
        pass
    try:
        from cxhub.services.classification import run as classify

        steps.append(("classify", lambda wh: classify.classify_pending(wh)))
    except ImportError:
        pass
    try:
        from cxhub.services.customers import segments

        steps.append(("segments", lambda wh: segments.refresh_segments(wh)))
    except ImportError:
        pass
    try:  # after classify: spikes per cause need the labels
        from cxhub.services.listening import detect as listening

        steps.append(("listening", lambda wh: listening.run(wh)))
    except ImportError:
        pass
    try:  # after listening: problems are found from its alerts
        from cxhub.services.problems import runner

        steps.append(("problems", lambda wh: runner.run(wh)))
    except ImportError:
        pass
    try:  # after segments: the offers' effects and uplift models, ready when the server starts
        from cxhub.services.offers import learning as offers_learning

        steps.append(("offers", lambda wh: offers_learning.learn_due(wh)))
    except ImportError:
        pass
    return steps


def refresh(wh: Warehouse, *, on_step: Callable[[str], None] | None = None) -> PipelineReport:
    report = PipelineReport()
    for name, fn in _steps():
        if on_step:
            on_step(name)
        started = time.perf_counter()
        summary = fn(wh)
        report.steps.append(StepResult(name, round(time.perf_counter() - started, 2), summary))
    return report
