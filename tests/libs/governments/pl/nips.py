"""NIPs a test makes for itself: its own limits, filings and inbox at the simulated KSeF."""

from __future__ import annotations

import secrets

NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


def random_nip() -> str:
    """A NIP of the test's own (valid check digit, KSeF's pattern)."""
    while True:
        digits = [secrets.randbelow(9) + 1, *(secrets.randbelow(10) for _ in range(8))]
        check = sum(w * d for w, d in zip(NIP_WEIGHTS, digits, strict=True)) % 11
        if check < 10 and digits[1] + digits[2] > 0:
            return "".join(map(str, digits)) + str(check)
