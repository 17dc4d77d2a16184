"""A/B assignment: deterministic per hashed session id and close to the configured share."""

import hashlib
import math
import random

import pytest
from django.utils.crypto import salted_hmac

from experiments.selectors import arm_for, session_id_hash

SESSIONS = 20_000


def session_ids(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [session_id_hash(shopper_id=f"{rng.getrandbits(128):032x}") for _ in range(count)]


def test_assignment_is_the_documented_formula_and_repeats():
    ids = session_ids(200, seed=1)
    for session_id in ids:
        bucket = int(hashlib.sha256(("salt-1" + session_id).encode()).hexdigest(), 16) % 10_000
        expected = "candidate" if bucket < 3_700 else "control"
        assert arm_for(salt="salt-1", share=37, session_id=session_id) == expected
        assert arm_for(salt="salt-1", share=37, session_id=session_id) == expected


@pytest.mark.parametrize("share", [1, 10, 30, 50, 90])
def test_the_split_is_close_to_the_share(share):
    arms = [arm_for(salt="exp-7", share=share, session_id=s) for s in session_ids(SESSIONS, 2)]
    candidates = arms.count("candidate")
    p = share / 100
    # Binomial(n, p): 5 standard deviations leave a false failure chance below 1e-6.
    assert abs(candidates - SESSIONS * p) <= 5 * math.sqrt(SESSIONS * p * (1 - p))


@pytest.mark.parametrize(("share", "expected"), [(0, "control"), (100, "candidate")])
def test_shares_of_0_and_100_send_everyone_to_one_arm(share, expected):
    assert {arm_for(salt="s", share=share, session_id=s) for s in session_ids(2_000, 3)} == {
        expected
    }


def test_another_salt_reshuffles_the_sessions():
    ids = session_ids(SESSIONS, 4)
    first = [arm_for(salt="a", share=50, session_id=s) for s in ids]
    second = [arm_for(salt="b", share=50, session_id=s) for s in ids]
    agreement = sum(x == y for x, y in zip(first, second, strict=True))
    # Independent halves agree half the time: 10,000 ± 5 sd (sd = √(20000·¼) ≈ 71).
    assert abs(agreement - SESSIONS / 2) <= 5 * math.sqrt(SESSIONS / 4)


def test_session_ids_are_keyed_hashes_of_the_shoppers_id():
    hashed = session_id_hash(shopper_id="abc123")
    assert (
        hashed
        == salted_hmac("prodsim.experiments.session", "abc123", algorithm="sha256").hexdigest()
    )
    assert len(hashed) == 64 and "abc123" not in hashed
    assert hashed != hashlib.sha256(b"abc123").hexdigest()  # not guessable without the secret


def test_session_ids_change_with_the_secret_key(settings):
    before = session_id_hash(shopper_id="abc123")
    settings.SECRET_KEY = "another-secret"
    assert session_id_hash(shopper_id="abc123") != before
