"""The sign-ins the stand-in started (by `state`) and the outcome of each answer it received, in
order, for tests and the result page. A state is answered once: a second answer is refused."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .validation import Expected


@dataclass
class SignIn:
    state: str
    tid: str
    oid: str
    hint: str
    hint_kind: str
    client_request_id: str
    expected: Expected
    started: float = field(default_factory=time.time)


class Ledger:
    def __init__(self):
        self._changed = threading.Condition()
        self._open: dict[str, SignIn] = {}
        self._answered: set[str] = set()
        self._results: list[dict] = []

    def open(self, sign_in: SignIn) -> None:
        with self._changed:
            self._open[sign_in.state] = sign_in

    def take(self, state: str) -> tuple[SignIn | None, str]:
        """The open sign-in of `state`, closed now; else None and why."""
        with self._changed:
            sign_in = self._open.pop(state, None)
            if sign_in is not None:
                self._answered.add(state)
                return sign_in, ""
            if state in self._answered:
                return None, "this sign-in was already answered"
            return None, "no sign-in has this state"

    def record(self, result: dict) -> dict:
        with self._changed:
            self._results.append({**result, "at": time.time()})
            self._changed.notify_all()
        return result

    def results(self, state: str | None = None) -> list[dict]:
        with self._changed:
            return [r for r in self._results if state is None or r.get("state") == state]

    def wait_for_result(self, state: str | None = None, timeout: float = 10.0, count: int = 1) -> dict:
        """The latest result (for `state`), once at least `count` have arrived; TimeoutError else."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := self.results(state)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer{' for state ' + state if state else ''} within {timeout} s")
                self._changed.wait(left)
            return found[-1]

    def clear(self) -> None:
        with self._changed:
            self._open.clear()
            self._answered.clear()
            self._results.clear()
