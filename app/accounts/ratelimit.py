"""Token buckets per caller and kind of traffic, in one table shared by the worker
processes of a host.

The table is a flat array of doubles, three per slot (the bucket's key fingerprint, its
tokens, the time they were counted), open-addressed by the fingerprint. `rf serve` makes
it in shared memory, so that two workers do not double every limit; in-process (tests,
one uvicorn) it is an ordinary buffer. Each worker touches it from its event loop's
thread only, between two awaits, so within a process a bucket is read and written as one
step. Across processes nothing is locked: two workers granting at the very same moment
may both take the last token, one request more than the limit at worst, which a lock on
every request would cost far more than it is worth. CLOCK_MONOTONIC is one clock for the
whole host, so every worker counts time alike."""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# 131,072 slots (3 MiB): a bucket per (caller, traffic class) for tens of thousands of
# callers active at once. Beyond that the slot refilled longest ago is taken over, as a
# bucket that has refilled holds nothing a fresh one would not.
SLOTS = 1 << 17
PROBES = 8
FIELDS = 3  # fingerprint, tokens, stamp
# Fingerprints are stored in doubles: 52 bits stay exact, and 0 marks a free slot.
FINGERPRINT_MASK = (1 << 52) - 1


@dataclass(frozen=True)
class Limit:
    """A token bucket's shape: `burst` requests at once, refilled at `per_minute`."""

    name: str
    per_minute: float
    burst: int

    @property
    def rate(self) -> float:
        return self.per_minute / 60

    def refusal_headers(self, retry_after: int) -> dict[str, str]:
        """Of a 429: Retry-After, and the fields of draft-ietf-httpapi-ratelimit-headers
        (the policy: a quota of `burst` requests over the window in which an empty bucket
        refills; the state: no token left, the next in `retry_after` seconds)."""
        window = max(1, round(self.burst / self.rate))
        return {
            "Retry-After": str(retry_after),
            "RateLimit-Policy": f'"{self.name}";q={self.burst};w={window}',
            "RateLimit": f'"{self.name}";r=0;t={retry_after}',
        }


def new_table_buffer(slots: int = SLOTS) -> bytearray:
    return bytearray(slots * FIELDS * 8)


class RateTable:
    def __init__(self, buffer: Any = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        """`buffer`: any writable buffer of doubles, FIELDS per slot (a multiprocessing
        Array shares it between processes); a private one when None."""
        cells = memoryview(buffer if buffer is not None else new_table_buffer()).cast("B")
        self.cells = cells.cast("d")
        self.slots = len(self.cells) // FIELDS
        if self.slots < PROBES or len(self.cells) % FIELDS:
            raise ValueError(f"a rate table holds {FIELDS} doubles a slot, {PROBES} slots or more")
        self.clock = clock
        # Bucket keys repeat (an address, a key): their fingerprints are remembered.
        self._fingerprints: dict[str, float] = {}

    def take(self, key: str, limit: Limit) -> int:
        """Takes a token from `key`'s bucket (full when first seen): 0 when granted, else
        the seconds until a token is free."""
        cells, now = self.cells, self.clock()
        mine = self._fingerprint(key)
        base = self._slot(mine) * FIELDS
        tokens = self._tokens(base, mine, limit, now)
        cells[base] = mine
        if tokens >= 1:
            cells[base + 1], cells[base + 2] = tokens - 1, now
            return 0
        cells[base + 1], cells[base + 2] = tokens, now
        return max(1, math.ceil((1 - tokens) / limit.rate))

    def drain(self, key: str) -> None:
        """Empties `key`'s bucket now, whatever it held."""
        cells, mine = self.cells, self._fingerprint(key)
        base = self._slot(mine) * FIELDS
        cells[base], cells[base + 1], cells[base + 2] = mine, 0, self.clock()

    def empty(self, key: str, limit: Limit) -> bool:
        """Whether `key`'s bucket has no whole token left; nothing is taken."""
        mine = self._fingerprint(key)
        return self._tokens(self._slot(mine) * FIELDS, mine, limit, self.clock()) < 1

    def _tokens(self, base: int, mine: float, limit: Limit, now: float) -> float:
        cells = self.cells
        if cells[base] != mine:
            return float(limit.burst)  # a free slot, or one taken over
        return min(limit.burst, cells[base + 1] + (now - cells[base + 2]) * limit.rate)

    def _slot(self, mine: float) -> int:
        """The slot holding `mine`, else a free one, else the one counted longest ago."""
        cells, slots = self.cells, self.slots
        first = int(mine) % slots
        if cells[first * FIELDS] == mine:
            return first
        oldest, oldest_stamp = first, math.inf
        for probe in range(PROBES):
            slot = (first + probe) % slots
            fingerprint = cells[slot * FIELDS]
            if fingerprint == mine or fingerprint == 0:
                return slot
            stamp = cells[slot * FIELDS + 2]
            if stamp < oldest_stamp:
                oldest, oldest_stamp = slot, stamp
        return oldest

    def _fingerprint(self, key: str) -> float:
        known = self._fingerprints.get(key)
        if known is None:
            if len(self._fingerprints) >= SLOTS:
                self._fingerprints.clear()
            known = self._fingerprints[key] = fingerprint(key)
        return known


def fingerprint(key: str) -> float:
    # Not hash(): it differs between processes (PYTHONHASHSEED).
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return float((int.from_bytes(digest, "big") & FINGERPRINT_MASK) or 1)
