"""Circuit breakers (熔断器), one per service and process: after N consecutive failures (transport
errors, time-outs, 502/503/504 from the provider) calls are refused at once for a while; then one probe
call goes through (half-open) and its outcome closes the circuit or opens it again.

They live in the process's memory on purpose: each process learns of a provider's trouble from its own
calls within N of them, and a refused call costs nothing; sharing the state would put a write in the
database on every call. They are touched only on the event loop, so they need no lock.
"""

import time
from dataclasses import dataclass


@dataclass
class Breaker:
    threshold: int
    reset_seconds: float
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.probing or self._cooled() else "open"

    def _now(self) -> float:
        return time.monotonic()

    def _cooled(self) -> bool:
        return self.opened_at is not None and self._now() - self.opened_at >= self.reset_seconds

    def admit(self) -> float | None:
        """None when the call may go; else the seconds until a probe will be let through."""
        if self.opened_at is None:
            return None
        if not self.probing and self._cooled():
            self.probing = True  # this call is the probe
            return None
        if self.probing:  # a probe is under way: wait for its outcome
            return self.reset_seconds
        return max(0.0, self.reset_seconds - (self._now() - self.opened_at))

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            self.opened_at, self.probing = self._now(), False


class Breakers:
    def __init__(self) -> None:
        self._by_service: dict[str, Breaker] = {}

    def get(self, code: str, *, threshold: int, reset_seconds: float) -> Breaker:
        breaker = self._by_service.get(code)
        if breaker is None:
            breaker = self._by_service[code] = Breaker(threshold, reset_seconds)
        breaker.threshold, breaker.reset_seconds = threshold, reset_seconds  # the service's settings may change
        return breaker
