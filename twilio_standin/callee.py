"""Scripted callees: how the phone at a destination number behaves when the
stand-in calls it (answers as a person or a machine, is busy, presses keys...).

A script is per number and applies afresh to every call to that number: the
`keys` list is consumed one entry per <Gather> of that call. Numbers without a
script behave like the book's default (a person who answers and stays silent,
or "interactive": rings until someone acts through the control API).
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

ANSWERS = ("human", "machine", "fax", "busy", "no-answer", "failed", "interactive")
KEYS = frozenset("0123456789*#ABCD")  # what a phone keypad can send as DTMF


@dataclass(frozen=True)
class Callee:
    number: str
    answer: str = "human"
    ring: float = 0.5  # seconds before answering (or before no-answer)
    detection_delay: float = 1.0  # how long answering-machine detection takes
    keys: tuple = ()  # per Gather: keys to press, None (silent) or "hangup"
    key_delay: float = 0.3  # seconds after a Gather starts before its keys are pressed
    hangup_after: float | None = None  # seconds after answer when the callee hangs up

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["keys"] = list(self.keys)
        return out


def _seconds(name: str, value: Any, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"'{name}' must be a non-negative number of seconds")
    return float(value)


def make_callee(number: Any, **spec: Any) -> Callee:
    """Validate a script (from JSON or kwargs); raise ValueError if malformed."""
    allowed = {"answer", "ring", "detection_delay", "keys", "key_delay", "hangup_after"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown callee field(s): {', '.join(sorted(unknown))}")
    if not isinstance(number, str) or not number:
        raise ValueError("'number' must be a non-empty string")
    answer = spec.get("answer", "human")
    if answer not in ANSWERS:
        raise ValueError(f"'answer' must be one of {', '.join(ANSWERS)}")
    keys = spec.get("keys") or ()
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise ValueError("'keys' must be a list (one entry per Gather)")
    for entry in keys:
        if entry is None or entry == "hangup":
            continue
        if not isinstance(entry, str) or not entry or set(entry) - KEYS:
            raise ValueError(f"bad 'keys' entry {entry!r}: keys from 0-9*#ABCD, "
                             "None (silent) or 'hangup'")
    return Callee(
        number=number, answer=answer, keys=tuple(keys),
        ring=_seconds("ring", spec.get("ring", 0.5)),
        detection_delay=_seconds("detection_delay", spec.get("detection_delay", 1.0)),
        key_delay=_seconds("key_delay", spec.get("key_delay", 0.3)),
        hangup_after=_seconds("hangup_after", spec.get("hangup_after"), allow_none=True))


class CalleeBook:
    def __init__(self, default_answer: str = "human") -> None:
        if default_answer not in ANSWERS:
            raise ValueError(f"default callee must be one of {', '.join(ANSWERS)}")
        self.default_answer = default_answer
        self._lock = threading.Lock()
        self._callees: dict[str, Callee] = {}

    def set(self, number: str, **spec: Any) -> Callee:
        callee = make_callee(number, **spec)
        with self._lock:
            self._callees[number] = callee
        return callee

    def get(self, number: str) -> Callee:
        with self._lock:
            callee = self._callees.get(number)
        return callee or Callee(number=number, answer=self.default_answer)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c.as_dict() for c in self._callees.values()]

    def clear(self) -> None:
        with self._lock:
            self._callees.clear()
