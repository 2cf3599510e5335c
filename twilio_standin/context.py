"""Per-app shared state, reachable from any resource module via `current()`.

A module of its own because app.py imports the resource modules (messages.py,
calls.py, control.py...), which in turn need the context: importing it from
app.py would make the import circular.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app

from .callbacks import CallbackDispatcher
from .callee import CalleeBook
from .executor import CallExecutor
from .faults import FaultRegistry
from .state import Store

EXTENSION_KEY = "twilio_standin"


@dataclass
class StandInContext:
    account_sid: str
    auth_token: str
    store: Store
    faults: FaultRegistry
    dispatcher: CallbackDispatcher
    callees: CalleeBook
    calls: CallExecutor
    send_delay: float = 0.0  # a float assignment is atomic: no lock needed
    stopping: threading.Event = field(default_factory=threading.Event)

    def clear(self) -> None:
        """Forget messages, calls and the request log; calls in flight hang up
        without posting anything more. Callee scripts and faults stay."""
        self.calls.discard_all()
        self.store.clear()

    def sleep(self, seconds: float) -> None:
        # Event.wait rather than time.sleep so stop() releases delayed requests at once.
        if seconds > 0:
            self.stopping.wait(seconds)


def current() -> StandInContext:
    return current_app.extensions[EXTENSION_KEY]
