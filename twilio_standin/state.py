"""Thread-safe in-memory record of what the stand-in received and did.

Request handlers (one thread per request) and callback workers all write
here, and tests read from their own thread, so every access goes through one
lock. A Condition on that lock lets tests wait for an event ("a message to
+1555... arrived", "two callbacks were posted") instead of sleeping.

Everything handed out is a copy, so callers can never mutate the store or see
a record change under them.
"""
from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable

Record = dict[str, Any]


class Store:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._messages: dict[str, Record] = {}  # sid -> record, insertion order = arrival
        self._requests: list[Record] = []  # every create attempt, accepted or not
        self._calls: dict[str, Record] = {}  # sid -> call record, insertion order = creation
        self._version = 0  # grows with every change: lets watchers (the dev phone) wait for one

    def _changed(self) -> None:
        """Call under the lock after any write: wakes every waiter."""
        self._version += 1
        self._cond.notify_all()

    # -- writes ---------------------------------------------------------
    def add_message(self, record: Record) -> None:
        with self._cond:
            record.setdefault("callbacks", [])
            self._messages[record["sid"]] = record
            self._changed()

    def update_message(self, sid: str, **fields: Any) -> Record | None:
        with self._cond:
            record = self._messages.get(sid)
            if record is None:  # cleared while a callback worker was running
                return None
            record.update(fields)
            self._changed()
            return copy.deepcopy(record)

    def add_callback(self, sid: str, outcome: Record) -> None:
        with self._cond:
            record = self._messages.get(sid)
            if record is not None:
                record["callbacks"].append(outcome)
            self._changed()

    def log_request(self, entry: Record) -> None:
        with self._cond:
            self._requests.append(entry)
            self._changed()

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()
            self._requests.clear()
            self._calls.clear()
            self._changed()

    # -- calls (written by the call executor, see executor.py) -----------
    def add_call(self, record: Record) -> None:
        with self._cond:
            for name in ("transcript", "said", "callbacks", "amd_callbacks"):
                record.setdefault(name, [])
            self._calls[record["sid"]] = record
            self._changed()

    def update_call(self, sid: str, **fields: Any) -> None:
        with self._cond:
            record = self._calls.get(sid)
            if record is not None:  # None: cleared while the call was running
                record.update(fields)
                self._changed()

    def add_call_event(self, sid: str, event: Record) -> None:
        with self._cond:
            record = self._calls.get(sid)
            if record is not None:
                record["transcript"].append(event)
                if event["type"] == "say":
                    record["said"].append(event["text"])
                self._changed()

    def add_call_callback(self, sid: str, kind: str, outcome: Record) -> None:
        """kind: "callbacks" (status) or "amd_callbacks"."""
        with self._cond:
            record = self._calls.get(sid)
            if record is not None:
                record[kind].append(outcome)
                self._changed()

    def clear_calls(self) -> None:
        with self._cond:
            self._calls.clear()
            self._changed()

    def wake(self) -> None:
        """Wake every waiter as if something changed (the server is stopping)."""
        with self._cond:
            self._changed()

    # -- reads ----------------------------------------------------------
    @property
    def version(self) -> int:
        with self._cond:
            return self._version

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until the version differs from `since` (or `timeout` passed);
        return the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != since, timeout)
            return self._version

    def get_message(self, sid: str) -> Record | None:
        with self._cond:
            record = self._messages.get(sid)
            return copy.deepcopy(record) if record else None

    def messages(self, to: str | None = None) -> list[Record]:
        """Messages in arrival order (oldest first), optionally only those to `to`."""
        with self._cond:
            return [copy.deepcopy(m) for m in self._messages.values()
                    if to is None or m["to"] == to]

    def requests(self, to: str | None = None, resource: str | None = None) -> list[Record]:
        """Create attempts, optionally only those to `to` / of one resource
        ("Messages" or "Calls")."""
        with self._cond:
            return [dict(r) for r in self._requests if (to is None or r.get("to") == to)
                    and (resource is None or r.get("resource") == resource)]

    def get_call(self, sid: str) -> Record | None:
        with self._cond:
            record = self._calls.get(sid)
            return copy.deepcopy(record) if record else None

    def calls(self, to: str | None = None) -> list[Record]:
        """Calls in creation order (oldest first), optionally only those to `to`."""
        with self._cond:
            return [copy.deepcopy(c) for c in self._calls.values() if to is None or c["to"] == to]

    # -- waiting --------------------------------------------------------
    def _wait(self, compute: Callable[[], Any], timeout: float, what: str) -> Any:
        """Block until compute() (called under the lock) returns non-None."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = compute()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                self._cond.wait(remaining)

    def wait_for_message(self, to: str, timeout: float = 5.0, count: int = 1) -> Record:
        """Wait until at least `count` messages to `to` exist; return the latest."""
        def compute():
            found = [m for m in self._messages.values() if m["to"] == to]
            return copy.deepcopy(found[-1]) if len(found) >= count else None
        return self._wait(compute, timeout, f"{count} message(s) to {to}")

    def wait_for_callbacks(self, sid: str, count: int, timeout: float = 5.0) -> list[Record]:
        """Wait until `count` status callbacks for `sid` have completed; return them."""
        def compute():
            record = self._messages.get(sid)
            if record is not None and len(record["callbacks"]) >= count:
                return copy.deepcopy(record["callbacks"])
            return None
        return self._wait(compute, timeout, f"{count} callback(s) for {sid}")

    def wait_for_call(self, to: str, timeout: float = 5.0, count: int = 1) -> Record:
        def compute():
            found = [c for c in self._calls.values() if c["to"] == to]
            return copy.deepcopy(found[-1]) if len(found) >= count else None
        return self._wait(compute, timeout, f"{count} call(s) to {to}")

    def wait_for_call_where(self, sid: str, test: Callable[[Record], bool], timeout: float,
                            what: str) -> Record:
        """Wait until test(record) holds for call `sid`; return a copy."""
        def compute():
            record = self._calls.get(sid)
            return copy.deepcopy(record) if record is not None and test(record) else None
        return self._wait(compute, timeout, f"{what} of call {sid}")
