"""Score pairs of source records with Splink: train without labels, then predict.

Training (Fellegi-Sunter, no labels needed):
1. the share of matching pairs, from deterministic rules and their assumed recall;
2. u (how often non-matches agree) from a random sample of pairs, with a fixed seed;
3. m (how often matches agree) by expectation maximisation, one session per training rule,
   each learning every comparison that its rule does not block on.
Prediction scores every pair admitted by the blocking rules and keeps those at or above the
review queue's lower bound: below it a pair is neither linked nor worth a person's time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from cxhub.analytics.identity.engines import LinkEngine
from cxhub.analytics.identity.settings import Comparison, IdentitySettings, rule_columns
from cxhub.domain.errors import CxhubError

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["record_id_l", "record_id_r", "match_probability", "match_weight"]


@dataclass
class ScoredPairs:
    """Pairs at or above `floor`, with what the model learnt and how long each step took."""

    pairs: pa.Table
    floor: float
    model: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelPlan:
    """The comparisons and rules that the data can support (columns filled enough)."""

    comparisons: tuple[Comparison, ...]
    blocking: tuple[tuple[str, ...], ...]
    em_blocking: tuple[tuple[str, ...], ...]
    deterministic: tuple[tuple[str, ...], ...]
    left_out: tuple[str, ...]


def plan_model(settings: IdentitySettings, filled: dict[str, float]) -> ModelPlan:
    """Leave out columns that are (almost) always empty, and every rule that needs one: a
    comparison without data cannot be trained and a rule on it finds nothing."""
    usable = {c for c, share in filled.items() if share >= settings.min_filled}
    left_out = tuple(sorted({c.column for c in settings.comparisons} - usable))

    def keep(rules: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        return tuple(r for r in rules if rule_columns(r) <= usable)

    comparisons = tuple(
        c if not c.reversed_with or c.reversed_with in usable else replace(c, reversed_with=None)
        for c in settings.comparisons
        if c.column in usable
    )
    plan = ModelPlan(
        comparisons=comparisons,
        blocking=keep(settings.blocking),
        em_blocking=keep(settings.training.em_blocking),
        deterministic=keep(settings.training.deterministic),
        left_out=left_out,
    )
    if not plan.comparisons or not plan.blocking:
        raise CxhubError(
            "identity resolution has nothing to compare: the source records' columns "
            f"{', '.join(left_out) or '(none)'} are empty; load records with names, dates of "
            "birth, emails or addresses first"
        )
    return plan


def splink_comparison(c: Comparison) -> Any:
    import splink.comparison_library as cl

    t = list(c.thresholds)
    if c.kind == "name":
        made = _name(c.column, c.reversed_with, t or [0.92, 0.88, 0.7])
    elif c.kind == "exact":
        made = cl.ExactMatch(c.column)
    elif c.kind == "levenshtein":
        made = cl.LevenshteinAtThresholds(c.column, [int(x) for x in t] or [1, 2])
    elif c.kind == "damerau_levenshtein":
        made = cl.DamerauLevenshteinAtThresholds(c.column, [int(x) for x in t] or [1, 2])
    elif c.kind == "jaro_winkler":
        made = cl.JaroWinklerAtThresholds(c.column, t or [0.9, 0.7])
    elif c.kind == "date_of_birth":
        made = cl.DateOfBirthComparison(c.column, input_is_string=False)
    elif c.kind == "email":
        made = _email(c.column)
    else:  # settings.py validates kinds; this guards a new kind added there only
        raise CxhubError(f"no Splink comparison for kind {c.kind!r}")
    if c.term_frequencies and c.kind not in ("name", "email"):
        made = made.configure(term_frequency_adjustments=True)
    return made


def _name(column: str, reversed_with: str | None, thresholds: list[float]) -> Any:
    """A name comparison like Splink's, plus a level for first and last names written the
    other way round (`Ryan Jack` for `Jack Ryan`), which systems that split names badly often
    do, and, for first names, one for a name and its short form (`Bill` for `William`)."""
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    # Splink's CustomComparison takes a list of level creators or dicts (its list is invariant).
    levels: list[Any] = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
    ]
    if reversed_with:
        levels.append(cll.ColumnsReversedLevel(column, reversed_with, symmetrical=True))
    levels += [cll.JaroWinklerLevel(column, t) for t in thresholds if t >= 0.88]
    if column == "first_name":
        levels.append(
            cll.ArrayIntersectLevel("first_name_nicknames", min_intersection=1).configure(
                label_for_charts="first_name is a short form of the other"
            )
        )
    levels += [cll.JaroWinklerLevel(column, t) for t in thresholds if t < 0.88]
    levels.append(cll.ElseLevel())
    return CustomComparison(levels, output_column_name=column)


def _email(column: str) -> Any:
    """Exact, one keying slip, or different. No similarity of the user names: they are made
    of the person's name (`owen.davies12@`, `owendavies87@`), so two people of one name have
    similar ones, and rewarding that counts the names a second time (issue 11)."""
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.DamerauLevenshteinLevel(column, 1),
            cll.ElseLevel(),
        ],
        output_column_name=column,
    )


def blocking_rule(rule: tuple[str, ...]) -> Any:
    from splink import block_on

    if len(rule) == 1 and (" = " in rule[0] or "l." in rule[0]):
        return rule[0]  # an SQL condition over l. and r.
    return block_on(*rule)


def splink_settings(plan: ModelPlan) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[splink_comparison(c) for c in plan.comparisons],
        blocking_rules_to_generate_predictions=[blocking_rule(r) for r in plan.blocking],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
    )


def score_pairs(
    records: pa.Table, settings: IdentitySettings, plan: ModelPlan, engine: LinkEngine
) -> ScoredPairs:
    """Train a model on `records` (standardised, one row per record_id) and score pairs."""
    from splink import Linker

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    db_api = engine.db_api()
    input_df = db_api.register(records, dataset_display_name="source_records")
    linker = Linker(input_df, splink_settings(plan), log_level=None)
    model: dict[str, Any] = {"left_out_columns": list(plan.left_out)}

    _estimate_match_share(linker, plan, settings, records.num_rows, model)
    t = settings.training
    # Sampling in chunks lets DuckDB stop early once every level is counted often enough;
    # on Spark each chunk is several jobs, and one pass is faster.
    chunks = 1 if engine.name == "spark" else 10
    linker.training.estimate_u_using_random_sampling(
        max_pairs=t.u_max_pairs, seed=t.seed, num_chunks=chunks
    )
    seconds["u"] = _lap(started, seconds)
    trained = []
    # Sampling EM pairs needs a probe of 1% of the records; below this size the probe finds
    # nothing and every blocked pair is few enough to use.
    em_max_pairs = t.em_max_pairs if records.num_rows >= 200_000 else None
    # Splink warns of every comparison level one EM session never sees (blocked on email, the
    # email levels are all "equal"); another session trains them, and `_floor_m` covers the
    # rest, so those warnings are noise to a user.
    splink_log = logging.getLogger("splink")
    level = splink_log.level
    splink_log.setLevel(logging.ERROR)
    try:
        for rule in plan.em_blocking:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    blocking_rule(rule), max_pairs=em_max_pairs
                )
                trained.append(list(rule))
            except Exception as exc:  # a rule that finds no pairs cannot train; others can
                log.warning("EM session blocked on %s skipped: %s", rule, exc)
    finally:
        splink_log.setLevel(level)
    model["em_sessions"] = trained
    _floor_m(linker, M_FLOOR)
    seconds["em"] = _lap(started, seconds)

    floor = settings.review_low
    predictions = linker.inference.predict(
        threshold_match_probability=floor, warning_mode="never"
    )
    pairs = engine.to_arrow(predictions.physical_name, PAIR_COLUMNS)
    seconds["predict"] = _lap(started, seconds)
    model["match_weights"] = _match_weights(linker)
    model["conflict_m"] = conflict_rates(linker, plan)
    return ScoredPairs(pairs=pairs, floor=floor, model=model, seconds=seconds)


def conflict_rates(linker: Any, plan: ModelPlan) -> dict[str, float]:
    """How often the trained model thinks true matches contradict each other (conflicts.py):
    the m of a first name's last level (no similarity, no short form), and of a date of
    birth's levels beyond one keying slip or a month (DateOfBirthComparison's order)."""
    kinds = {c.column: c.kind for c in plan.comparisons}
    out: dict[str, float] = {}
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        if name == "first_name" and kinds.get(name) == "name":
            picked = levels[-1:]
        elif name == "date_of_birth" and kinds.get(name) == "date_of_birth":
            picked = levels[3:]
        else:
            continue
        ms = [_num(lv.m_probability) for lv in picked]
        if ms and all(m is not None for m in ms):
            out[name] = round(sum(ms), 6)  # type: ignore[arg-type]
    return out


# EM sets m to 0 for a level no match showed in training (every record of a person had one
# email). A Bayes factor of 0 would forbid the link forever after one changed email; a small
# floor keeps it strong evidence without making it absolute.
M_FLOOR = 1e-3


def _floor_m(linker: Any, floor: float) -> None:
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m = level.m_probability
            if m is None or m < floor:
                level.m_probability = floor


def _estimate_match_share(
    linker: Any, plan: ModelPlan, settings: IdentitySettings, n: int, model: dict[str, Any]
) -> None:
    rules = [blocking_rule(r) for r in plan.deterministic]
    prob = 0.0
    if rules:
        try:
            linker.training.estimate_probability_two_random_records_match(
                rules, recall=settings.training.deterministic_recall
            )
            prob = float(linker._settings_obj._probability_two_random_records_match)
        except ValueError as exc:  # more matches than the recall allows
            log.warning("deterministic match share not estimated: %s", exc)
    if not 0 < prob < 1:
        # No rule found anything: assume each record has about one duplicate.
        prob = min(0.5, 1.0 / max(n - 1, 1))
        linker._settings_obj._probability_two_random_records_match = prob
    model["probability_two_random_records_match"] = prob


def _match_weights(linker: Any) -> dict[str, list[dict[str, Any]]]:
    """Per comparison level: its label and its learnt m, u and Bayes factor (for the docs
    and for anyone checking why a pair scored as it did)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = []
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            levels.append(
                {
                    "level": level.label_for_charts,
                    "m": _num(level.m_probability),
                    "u": _num(level.u_probability),
                    "bayes_factor": _num(level._bayes_factor),
                }
            )
        out[comparison.output_column_name] = levels
    return out


def _num(x: Any) -> float | None:
    try:
        return None if x is None else round(float(x), 6)
    except (TypeError, ValueError):
        return None


def _lap(started: float, seconds: dict[str, float]) -> float:
    return round(time.perf_counter() - started - sum(seconds.values()), 3)
