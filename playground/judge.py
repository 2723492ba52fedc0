"""Real or generated? The pure logic of the guessing game: rounds, scores and the confidence
interval of an accuracy. No Streamlit, no database (those are views/judge.py and judge_db.py).

    plan = new_round(seed, n=10)            # which positions show a real image, which reference images
    k = correct(plan.truth, guesses)        # guesses: True = "Real"
    lo, hi = wilson(k, len(guesses))        # 95% interval of the accuracy
    verdict(k, n)                           # "cannot tell" / "can tell" / "reversed", in words
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

ROUND = 10            # images per round: half real, half generated
Z95 = 1.959963984540054   # the standard normal's 97.5% quantile: a two-sided 95% interval


@dataclass(frozen=True)
class Round:
    seed: int
    truth: tuple[bool, ...]       # per position: True = a real image, False = a generated one
    real_index: tuple[int, ...]   # for each real position in order, its index in the reference set

    @property
    def n(self) -> int:
        return len(self.truth)

    @property
    def n_generated(self) -> int:
        return self.truth.count(False)


def new_round(seed: int, n: int = ROUND, n_reference: int = 2000) -> Round:
    """A round of `n` images (n even, >= 2), half real and half generated, in an order drawn from
    `seed`; the real ones are distinct reference images, also drawn from `seed`. Same seed, same
    round."""
    if n < 2 or n % 2:
        raise ValueError(f"a round needs an even number of images (at least 2), not {n}")
    if n_reference < n // 2:
        raise ValueError(f"{n_reference} reference images cannot fill {n // 2} real places")
    rng = random.Random(seed)
    truth = [True] * (n // 2) + [False] * (n // 2)
    rng.shuffle(truth)
    return Round(seed, tuple(truth), tuple(rng.sample(range(n_reference), n // 2)))


def take_guess(plan: Round, guesses: list, position: int, guess: bool) -> bool:
    """Add `guess` for image `position` to `guesses` if that image is the next unanswered one of
    `plan`; a second answer for the same image (a double click's second click, sent before the page
    showed the next image) or one past the round's end changes nothing. True when taken."""
    if position != len(guesses) or position >= plan.n:
        return False
    guesses.append(bool(guess))
    return True


def correct(truth, guesses) -> int:
    """How many guesses (True = "Real") match the truth, position by position."""
    truth, guesses = list(truth), list(guesses)
    if len(guesses) > len(truth):
        raise ValueError(f"{len(guesses)} guesses for {len(truth)} images")
    return sum(bool(t) == bool(g) for t, g in zip(truth, guesses))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (95% by default). It stays inside [0, 1] and is
    not empty at 0/n or n/n, where the textbook p ± z·sqrt(p(1-p)/n) collapses to a point. With no
    answers (n = 0) nothing is known: (0, 1)."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"{k} right of {n} is not a proportion")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Exact ends at 0/n and n/n (the formula gives them up to rounding).
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def verdict(k: int, n: int) -> str:
    """What k right of n says about telling real from generated, by where the 95% interval lies
    against 50% (guessing)."""
    if n == 0:
        return "no answers yet"
    lo, hi = wilson(k, n)
    if lo > 0.5:
        return "can tell real from generated (the whole interval is above 50%)"
    if hi < 0.5:
        return ("pick the opposite of the truth more often than chance: the generated images look "
                "*more* real than the real ones (the whole interval is below 50%)")
    return "cannot tell real from generated (the interval includes 50%, which is guessing)"


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def describe(k: int, n: int) -> str:
    """'7 of 10 right: 70% (95% interval 40%–89%)'."""
    if n == 0:
        return "no answers yet"
    lo, hi = wilson(k, n)
    return f"{k} of {n} right: {percent(k / n)} (95% interval {percent(lo)}–{percent(hi)})"
