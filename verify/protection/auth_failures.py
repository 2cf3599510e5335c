"""The slowing down, then refusing, of a client address that keeps failing HTTP Basic
authentication (verify/api/auth.py checks the credentials).

Failed attempts (wrong Basic credentials, or a Basic header that cannot be read; a request
without Basic credentials is not a guess and is not counted) are counted per client address
in a moving window of AUTH_FAILURE_WINDOW_SECONDS. Beyond AUTH_FAILURES_BEFORE_DELAY of them, each further failure
is answered after a delay growing from 0.25 s to 2 s; at AUTH_FAILURES_BEFORE_BLOCK, every
/v2 request from the address, even with valid credentials, answers 429 until the oldest
failure leaves the window. A success resets nothing: one valid key must not launder guesses.

A delayed answer holds a server thread, so at most MAX_DELAYED wait at once per process. An
address whose next failure would be delayed needs one of those slots *before* its
credentials are compared: when none is free it is refused at once, whatever it sent, so a
flood of parallel guesses learns nothing faster than the slots allow.
"""
from __future__ import annotations

import functools
import ipaddress
import logging
import math
import threading
import time
from typing import Callable

from limits import RateLimitItemPerSecond

from ..errors import RATE_LIMITED, VerifyError
from ..store.connection import STORE_ERRORS
from .windows import Limiter, Refusal

log = logging.getLogger("telverify.auth")

FIRST_DELAY = 0.25  # seconds, doubling with each further failure...
LONGEST_DELAY = 2.0  # ...up to this
# gunicorn runs 32 threads per process (config/gunicorn.conf.py): delayed answers may hold at
# most this many.
MAX_DELAYED = 8


@functools.lru_cache(maxsize=4096)  # every API request asks; parsing the address costs more than a lookup
def client_address(remote_addr: str | None) -> str:
    """What failures are counted against: the IPv4 address, or the IPv6 /64 (one subscriber's
    network: every address in it is theirs to use)."""
    text = (remote_addr or "").strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return text[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def delay_after(failures: int, before_delay: int) -> float:
    """Seconds to wait before answering the `failures`-th failure in the window."""
    excess = failures - before_delay
    if excess <= 0:
        return 0.0
    return min(LONGEST_DELAY, FIRST_DELAY * 2 ** min(excess - 1, 16))


class AuthGuard:
    """Counts failed authentications per client address; one per app (so per process)."""

    COUNTER = "auth-failures"

    def __init__(self, limiter: Limiter, settings, *, max_delayed: int = MAX_DELAYED,
                 sleep: Callable[[float], None] = time.sleep):
        self.limiter = limiter
        self.failures = RateLimitItemPerSecond(settings.auth_failures_before_block,
                                               settings.auth_failure_window_seconds)
        self.before_delay = settings.auth_failures_before_delay
        self.max_delayed = max_delayed
        self._slots = threading.BoundedSemaphore(max_delayed)
        self._sleep = sleep
        # Addresses this process saw fail within the window. Only they cost a Redis lookup on
        # each request: everyone else's requests (nearly all) go straight to their credentials.
        # A brute force spreads failures over every worker, so each soon knows the address.
        self._suspects: dict[str, float] = {}

    def suspect(self, address: str) -> bool:
        return self._suspects.get(address, 0.0) > time.time()

    def _remember(self, address: str) -> None:
        now = time.time()
        if len(self._suspects) >= 10000:
            self._suspects = {a: until for a, until in self._suspects.items() if until > now}
        self._suspects[address] = now + self.failures.get_expiry()

    def failures_of(self, address: str) -> int | None:
        """Failures in the window, or None when Redis cannot say (treated as many, not none)."""
        try:
            return self.limiter.used(self.failures, self.COUNTER, address)
        except STORE_ERRORS as exc:
            log.warning("failed authentications of %s cannot be counted: %s", address, type(exc).__name__)
            return None

    def blocked(self, address: str, failures: int | None) -> Refusal | None:
        if failures is None or failures < self.failures.amount:
            return None
        return self.limiter.test(self.failures, self.COUNTER, address)

    def take_slot(self, address: str) -> None:
        """Reserve a delayed answer's thread, or refuse at once."""
        if not self._slots.acquire(blocking=False):
            log.warning("authentication from %s refused at once: %d delayed answers are waiting already",
                        address, self.max_delayed)
            seconds = str(math.ceil(LONGEST_DELAY))
            raise VerifyError(RATE_LIMITED, "Too many failed authentication attempts are being answered at the "
                              f"moment, among them from your address ({address}). Try again in {seconds} "
                              "seconds.", 429, {"Retry-After": seconds})

    def release_slot(self) -> None:
        self._slots.release()

    def failed(self, address: str, holding_slot: bool) -> None:
        """Count a failure and wait its delay (or raise the refusal that replaces both)."""
        self._remember(address)
        try:
            refusal = self.limiter.hit(self.failures, self.COUNTER, address)
            count = None if refusal else self.limiter.used(self.failures, self.COUNTER, address)
        except STORE_ERRORS:
            refusal = count = None  # not counted: answered as slowly as the most suspect
        if refusal:  # concurrent failures filled the window since we looked
            raise too_many_failures(address, refusal)
        if count is not None and count >= self.failures.amount:
            log.warning("authentication blocked for %s: %d failed attempts within %d s", address, count,
                        self.failures.get_expiry())
        seconds = LONGEST_DELAY if count is None else delay_after(count, self.before_delay)
        if not seconds:
            return
        if not holding_slot:
            self.take_slot(address)  # raced past the threshold since we looked
        try:
            self._sleep(seconds)
        finally:
            if not holding_slot:
                self.release_slot()


def too_many_failures(address: str, refusal: Refusal) -> VerifyError:
    return VerifyError(RATE_LIMITED, f"Too many failed authentication attempts from your address ({address}): "
                       f"its requests are refused. Try again in {refusal} seconds.", 429,
                       {"Retry-After": str(refusal)}, reason="auth_failures")
