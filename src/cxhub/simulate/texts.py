"""Compose contact, mention and survey texts from the parts in `phrases.py`, vectorised."""

from __future__ import annotations

import numpy as np

from cxhub.simulate import phrases as ph
from cxhub.simulate.rates import BRAND_HANDLE, CATEGORIES, CAUSES, CHANNELS

INCIDENT_NONE, INCIDENT_RELEASE, INCIDENT_BILLING, INCIDENT_CAMPAIGN = 0, 1, 2, 3
INCIDENTS = ("", "faulty_release", "billing_problem", "campaign")


def _arr(values: tuple[str, ...]) -> np.ndarray:
    return np.array(values, dtype=object)


def _pick(options: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    return _arr(options)[rng.integers(0, len(options), size=n)]


def _space_join(*parts: np.ndarray) -> np.ndarray:
    """Join text parts with single spaces, skipping empty parts."""
    out = parts[0].copy()
    for part in parts[1:]:
        sep = np.where((out != "") & (part != ""), " ", "")
        out = out + sep + part
    return out


def _core(cat: str, cause: str, n: int, rng: np.random.Generator) -> np.ndarray:
    frames = ph.FRAMES[cat]
    k = rng.integers(0, len(frames), size=n)
    pre = _arr(tuple(f[0] for f in frames))[k]
    post = _arr(tuple(f[1] for f in frames))[k]
    text: np.ndarray = pre + _pick(ph.TOPICS[cause], n, rng) + post
    return text


def _details(cause: str, tone: str, incident: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(incident)
    detail = _pick(ph.DETAILS[(cause, tone)], n, rng)
    detail[rng.random(n) < 0.2] = ""  # not everyone explains
    release = incident == INCIDENT_RELEASE
    detail[release] = _pick(ph.RELEASE_DETAILS, int(release.sum()), rng)
    billing = incident == INCIDENT_BILLING
    detail[billing] = _pick(ph.BILLING_INCIDENT_DETAILS, int(billing.sum()), rng)
    # Campaign contacts also ask about the offer (most say so), after what they would say anyway:
    # their usual detail stays, so the campaign weeks still read like the others' otherwise.
    offer = ph.CAMPAIGN_DETAILS.get(cause)
    campaign = (incident == INCIDENT_CAMPAIGN) & (rng.random(n) < ph.CAMPAIGN_MENTION)
    if offer and campaign.any():
        detail[campaign] = _space_join(detail[campaign], _pick(offer, int(campaign.sum()), rng))
    return detail


def contact_texts(
    category: np.ndarray,
    cause: np.ndarray,
    channel: np.ndarray,
    incident: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(subject, text) for each contact; indices into CATEGORIES, CAUSES and CHANNELS."""
    n = len(category)
    text = np.empty(n, dtype=object)
    subject = np.empty(n, dtype=object)
    for ci, cat in enumerate(CATEGORIES):
        tone = ph.TONE[cat]
        for ki, why in enumerate(CAUSES):
            rows = np.flatnonzero((category == ci) & (cause == ki))
            if not len(rows):
                continue
            m = len(rows)
            core = _core(cat, why, m, rng)
            detail = _details(why, tone, incident[rows], rng)
            closing = _pick(ph.CLOSINGS[tone], m, rng)
            text[rows] = _space_join(core, detail, closing)
            subject[rows] = (
                _pick(ph.SUBJECT_WORDS[cat], m, rng) + " " + _pick(ph.SUBJECT_NOUNS[why], m, rng)
            )
    for hi, name in enumerate(CHANNELS):
        rows = np.flatnonzero(channel == hi)
        if len(rows):
            text[rows] = _pick(ph.OPENERS[name], len(rows), rng) + text[rows]
    # Chat is typed quickly: some people never use capitals.
    casual = (channel == CHANNELS.index("chat")) & (rng.random(n) < 0.3)
    text[casual] = np.char.lower(text[casual].astype(str)).astype(object)
    # Only channels with a subject line keep one.
    subject_channels = [CHANNELS.index(c) for c in ("email", "web", "letter", "community")]
    subject[~np.isin(channel, subject_channels)] = None
    return subject, text


def mention_texts(
    category: np.ndarray, cause: np.ndarray, incident: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Short public posts addressed to the brand."""
    n = len(category)
    text = np.empty(n, dtype=object)
    for ci, cat in enumerate(CATEGORIES):
        tone = ph.TONE[cat]
        for ki, why in enumerate(CAUSES):
            rows = np.flatnonzero((category == ci) & (cause == ki))
            if not len(rows):
                continue
            m = len(rows)
            core = _core(cat, why, m, rng)
            detail = _details(why, tone, incident[rows], rng)
            detail[rng.random(m) < 0.4] = ""  # posts are short
            tag = _pick(ph.HASHTAGS[tone], m, rng)
            handle_first = rng.random(m) < 0.6
            body = _space_join(core, detail, tag)
            text[rows] = np.where(
                handle_first, BRAND_HANDLE + " " + body, body + " " + BRAND_HANDLE
            )
    return text


def brand_replies(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(category)
    out = np.empty(n, dtype=object)
    for ci, cat in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == ci)
        out[rows] = _pick(ph.BRAND_REPLIES[ph.TONE[cat]], len(rows), rng)
    return out


def survey_comments(tone: np.ndarray, aspect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """tone: 0 negative, 1 neutral, 2 positive; aspect: 0 wait, 1 resolution, 2 agent, 3 general."""
    tones = ("negative", "neutral", "positive")
    aspects = ("wait", "resolution", "agent", "general")
    out = np.empty(len(tone), dtype=object)
    for ti, t in enumerate(tones):
        for ai, a in enumerate(aspects):
            rows = np.flatnonzero((tone == ti) & (aspect == ai))
            out[rows] = _pick(ph.COMMENTS[(t, a)], len(rows), rng)
    return out
