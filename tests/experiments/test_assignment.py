"""A/B assignment: deterministic per shopper (their visitor hash) and close to the configured
share."""

import hashlib
import math
import random

import pytest

from behaviour.visitors import visitor_hash
from experiments.selectors import arm_for

SHOPPERS = 20_000


def shopper_hashes(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [visitor_hash(f"{rng.getrandbits(128):032x}") for _ in range(count)]


def test_assignment_is_the_documented_formula_and_repeats():
    ids = shopper_hashes(200, seed=1)
    for shopper in ids:
        bucket = int(hashlib.sha256(("salt-1" + shopper).encode()).hexdigest(), 16) % 10_000
        expected = "candidate" if bucket < 3_700 else "control"
        assert arm_for(salt="salt-1", share=37, shopper_hash=shopper) == expected
        assert arm_for(salt="salt-1", share=37, shopper_hash=shopper) == expected


@pytest.mark.parametrize("share", [1, 10, 30, 50, 90])
def test_the_split_is_close_to_the_share(share):
    arms = [arm_for(salt="exp-7", share=share, shopper_hash=s) for s in shopper_hashes(SHOPPERS, 2)]
    candidates = arms.count("candidate")
    p = share / 100
    # Binomial(n, p): 5 standard deviations leave a false failure chance below 1e-6.
    assert abs(candidates - SHOPPERS * p) <= 5 * math.sqrt(SHOPPERS * p * (1 - p))


@pytest.mark.parametrize(("share", "expected"), [(0, "control"), (100, "candidate")])
def test_shares_of_0_and_100_send_everyone_to_one_arm(share, expected):
    assert {arm_for(salt="s", share=share, shopper_hash=s) for s in shopper_hashes(2_000, 3)} == {
        expected
    }


def test_another_salt_reshuffles_the_shoppers():
    ids = shopper_hashes(SHOPPERS, 4)
    first = [arm_for(salt="a", share=50, shopper_hash=s) for s in ids]
    second = [arm_for(salt="b", share=50, shopper_hash=s) for s in ids]
    agreement = sum(x == y for x, y in zip(first, second, strict=True))
    # Independent halves agree half the time: 10,000 ± 5 sd (sd = √(20000·¼) ≈ 71).
    assert abs(agreement - SHOPPERS / 2) <= 5 * math.sqrt(SHOPPERS / 4)
