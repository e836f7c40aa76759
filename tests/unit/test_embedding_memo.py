"""The sentence encoder remembers recent vectors; a memo that fills up mid-call must not lose a
vector the same call still needs (it used to: KeyError on the demo's classify step)."""

from __future__ import annotations

import numpy as np
import pytest

from cxhub.analytics.classify.embedding import Encoder, missing_packages

pytestmark = pytest.mark.skipif(bool(missing_packages("embedding")),
                                reason="the embedding extra is not installed")


def test_a_full_memo_keeps_what_the_call_needs() -> None:
    enc = Encoder(memo_size=3)
    first = ["my bill is wrong", "the router keeps dropping", "where is my parcel"]
    before = enc.encode(first)
    # Two remembered texts and two new ones: the memo (3) overflows and is cleared while the
    # remembered vectors are still to be returned.
    mixed = ["my bill is wrong", "where is my parcel", "I want to cancel", "thanks so much"]
    got = enc.encode(mixed)
    assert got.shape == (4, before.shape[1])
    np.testing.assert_allclose(got[0], before[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], before[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2:], Encoder(memo_size=3).encode(mixed[2:]), rtol=1e-4,
                               atol=1e-5)
