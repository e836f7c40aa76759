"""Persona names: each cluster in plain words by what sets it apart from everyone.

A feature's effect in a cluster is the cluster's mean minus the population's mean, in
population standard deviations (on the log scale for counts and money; customers whose value
is unknown left out of both means). A cluster is named by its (at most) three strongest
traits with an effect of at least `MIN_EFFECT`, one per group of features: the channel group
speaks of the channel whose share stands out (a preferred channel before an avoided one), the
product group of the families held. When two clusters get the same words, each gets its next
trait until they differ; "typical customers" only names a cluster with no trait at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxhub.analytics.segments.persona_features import BY_NAME, PRODUCT_FAMILIES

MIN_EFFECT = 0.2  # Cohen's "small" effect
MAX_TRAITS = 3
TYPICAL = "typical customers"

# feature -> (words when the cluster is above the population, words when below)
WORDS: dict[str, tuple[str, str]] = {
    "age": ("older", "younger"),
    "tenure_years": ("long-standing", "recently joined"),
    "monthly_spend": ("high spend", "low spend"),
    "contacts_per_month": ("contacts a lot", "rarely in touch"),
    "share_phone": ("prefers the phone", "seldom phones"),
    "share_email": ("prefers email", "seldom emails"),
    "share_chat": ("prefers chat", "seldom chats"),
    "share_other": ("uses web forms and social", "seldom uses web forms or social"),
    "complaint_share": ("complains often", "rarely complains"),
    "satisfaction": ("satisfied", "dissatisfied"),
    "digital_per_month": ("active online", "rarely online"),
}
FAMILY_WORDS = {"broadband": "broadband", "mobile": "mobile", "tv": "TV",
                "landline": "a landline"}


def effects(transformed: pd.DataFrame, cluster: np.ndarray) -> pd.DataFrame:
    """Per cluster and feature: (cluster mean - population mean) / population sd."""
    mean = transformed.mean()
    sd = transformed.std(ddof=0).replace(0.0, np.nan)
    return ((transformed.groupby(cluster).mean() - mean) / sd).fillna(0.0)


def traits(effect: pd.Series, held: pd.Series) -> list[tuple[float, str]]:
    """(strength, words) of each group with an effect of at least MIN_EFFECT, strongest
    first. `held`: the cluster's share of customers holding each product family."""
    found: list[tuple[float, str]] = []
    groups: dict[str, list[str]] = {}
    for name in effect.index:
        groups.setdefault(BY_NAME[name].group, []).append(name)
    for group, names in groups.items():
        e = effect[names]
        if e.abs().max() < MIN_EFFECT:
            continue
        if group == "products":
            found.append((float(e.abs().max()), _products(e, held)))
        elif group == "channels":
            up = e[e >= MIN_EFFECT]
            pick = up.idxmax() if not up.empty else e.idxmin()
            found.append((float(abs(e[pick])), _word(pick, e[pick])))
        else:
            name = names[0]
            found.append((float(abs(e[name])), _word(name, e[name])))
    found.sort(key=lambda t: -t[0])
    return found


def _word(name: str, value: float) -> str:
    above, below = WORDS[name]
    return above if value > 0 else below


def _products(e: pd.Series, held: pd.Series) -> str:
    """Words for the product families: "no products", "mobile only", "with TV", "no TV"."""
    families = [f for f in PRODUCT_FAMILIES if f"has_{f}" in e.index]
    shares = {f: float(held.get(f"has_{f}", 0.0)) for f in families}
    if sum(shares.values()) < 0.5:
        return "few or no products"
    majority = [f for f in families if shares[f] >= 0.5]
    lower = [f for f in families if e[f"has_{f}"] <= -MIN_EFFECT]
    if len(majority) == 1 and lower:
        return f"{majority[0]} only" if majority[0] != "tv" else "TV only"
    higher = sorted((f for f in families if e[f"has_{f}"] >= MIN_EFFECT),
                    key=lambda f: -e[f"has_{f}"])
    if higher:
        return "with " + " and ".join(FAMILY_WORDS[f] for f in higher[:2])
    weakest = min(lower, key=lambda f: e[f"has_{f}"])
    return "no " + FAMILY_WORDS[weakest].removeprefix("a ")


def names(effect: pd.DataFrame, held: pd.DataFrame) -> dict[int, str]:
    """A unique name for every cluster (the index of `effect`)."""
    found = {int(c): traits(effect.loc[c], held.loc[c]) for c in effect.index}
    used = {c: min(MAX_TRAITS, len(t)) for c, t in found.items()}

    def name(c: int) -> str:
        words = [w for _, w in found[c][:used[c]]]
        return ", ".join(words) if words else TYPICAL

    # Clusters that share a name take their next trait, until no name is shared or no
    # sharing cluster has a trait left.
    while True:
        by_name: dict[str, list[int]] = {}
        for c in found:
            by_name.setdefault(name(c), []).append(c)
        clash = [cs for cs in by_name.values() if len(cs) > 1]
        grown = False
        for cs in clash:
            for c in cs:
                if used[c] < len(found[c]):
                    used[c] += 1
                    grown = True
        if not grown:
            break
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for c in sorted(found):
        n = name(c)
        seen[n] = seen.get(n, 0) + 1
        out[c] = n if seen[n] == 1 else f"{n} ({seen[n]})"
    return out
