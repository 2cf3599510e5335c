"""config/gunicorn.conf.py's hooks, run in a child process: worker pinning where it cannot pin (the live
case is in test_dev_run), and the garbage collector's freeze of the loaded app."""
import subprocess
import sys

from tests.support import ROOT

# Runs in a child process: post_fork pins the process that calls it.
PROBE = """
import os, runpy, types
conf = runpy.run_path("config/gunicorn.conf.py")
before = os.sched_getaffinity(0)
warnings = []
server = types.SimpleNamespace(WORKERS={}, log=types.SimpleNamespace(warning=lambda *a: warnings.append(a[0] % a[1:])))
worker = types.SimpleNamespace(cpu=max(before) + 4096)  # no such CPU: as if it was taken away
conf["post_fork"](server, worker)
print(os.sched_getaffinity(0) == before, warnings)
"""


def test_a_worker_whose_cpu_is_gone_boots_unpinned_with_a_warning():
    # An exception in post_fork would fail the worker's boot, and gunicorn would stop.
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    unchanged, warnings = done.stdout.split(" ", 1)
    assert unchanged == "True"
    assert "left unpinned: CPU" in warnings


FREEZE_PROBE = """
import gc, runpy
conf = runpy.run_path("config/gunicorn.conf.py")
loaded = [[n] for n in range(5000)]  # stands for the app's objects, loaded before the hook runs
conf["post_worker_init"](None)
frozen = gc.get_freeze_count()
later = [[n] for n in range(100)]
print(frozen >= 5000, gc.get_freeze_count() == frozen, gc.isenabled())
"""


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_scans():
    done = subprocess.run([sys.executable, "-c", FREEZE_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # What was loaded is frozen; what requests create later is not, and the collector still runs.
    assert done.stdout.split() == ["True", "True", "True"]


def test_the_connection_ledger_leaves_out_workers_gone_or_silent(monkeypatch):
    """config/workers.py: a worker accepts while it holds no more connections than the fewest of
    the others; a worker that left, or has not written for STALE_SECONDS, does not count."""
    from config import workers
    ledger = workers.Ledger(slots=8)
    # The lowest free slot: a worker that replaces slot 1's takes it again.
    assert [ledger.claim(set()), ledger.claim({0}), ledger.claim({0, 1}), ledger.claim({0, 2})] == [0, 1, 2, 1]
    assert ledger.fewest_of_others(0) is None  # alone
    ledger.write(0, 9)
    ledger.write(1, 7)
    ledger.write(2, 8)
    assert (ledger.fewest_of_others(0), ledger.fewest_of_others(1)) == (7, 8)
    ledger.leave(1)
    assert ledger.fewest_of_others(0) == 8
    now = workers.time.monotonic()
    monkeypatch.setattr(workers.time, "monotonic", lambda: now + workers.STALE_SECONDS + 1)
    assert ledger.fewest_of_others(0) is None  # slot 2 has been silent too long
