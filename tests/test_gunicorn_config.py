"""config/gunicorn.conf.py's hooks, run in a child process: worker pinning where it cannot pin (the live
case is in test_dev_run), the garbage collector's freeze of the loaded app, and under gunicorn itself the
warning that clients can go around the trusted proxies."""
import subprocess
import sys

import pytest
import requests

from tests.support import API_KEY, API_SECRET, ROOT, Gunicorn, make_env

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


AROUND_THE_PROXIES = "which clients may reach without passing the proxies"


@pytest.mark.parametrize("settings, listening, warned", [
    ({"TRUSTED_PROXIES": "1"}, "0.0.0.0", True),  # BIND_HOST's default: every address of the host
    ({"TRUSTED_PROXIES": "2", "BIND_HOST": "0.0.0.0"}, "0.0.0.0", True),
    ({"TRUSTED_PROXIES": "1", "BIND_HOST": "127.0.0.1"}, "127.0.0.1", False),  # only a proxy on this host
    ({}, "0.0.0.0", False),  # no proxies trusted: X-Forwarded-For is never read
], ids=["proxies-all-addresses", "two-proxies-all-addresses", "proxies-loopback", "no-proxies"])
def test_trusted_proxies_with_telverify_reachable_directly_warn_at_start_up(tmp_path, redis_url, standin, settings,
                                                                              listening, warned):
    """A warning in gunicorn's log, once, from the master, naming what it listens on and the way
    out; telverify serves either way (a firewall may keep the port to the proxies)."""
    with Gunicorn(tmp_path, lambda url: make_env(redis_url, standin.base_url, url), **settings) as server:
        assert requests.get(f"{server.url}/v2/Services", auth=(API_KEY, API_SECRET), timeout=10).status_code == 200
        log = server.log()
    assert f"Listening at: http://{listening}:{server.port} " in log, log
    assert log.count(AROUND_THE_PROXIES) == (1 if warned else 0), log
    if warned:
        line = next(line for line in log.splitlines() if AROUND_THE_PROXIES in line)
        assert "[WARNING]" in line and f"TRUSTED_PROXIES={settings['TRUSTED_PROXIES']}" in line
        assert f"http://0.0.0.0:{server.port}" in line and "BIND_HOST" in line
