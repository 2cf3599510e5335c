"""Instructions per request of the hot paths, counted by callgrind: a figure that, unlike a
timing, comes out the same on every run, whatever else the machine is doing.

Starts the benchmark's services (bench/services.py), makes pending verifications and approve
calls through the API, then for each request kind runs the app in a child process under
`valgrind --tool=callgrind` twice, sending it SMALL and then LARGE requests through its WSGI
entry point (in process: no server, no load). (I(LARGE) - I(SMALL)) / (LARGE - SMALL) is the
cost of one request, start-up and the first request's warm-up cancelled.

    .venv/bin/python bench/instructions.py [--small 50] [--large 250] [--only totp,eam]

It is a measurement, not a test; it needs valgrind (apt-get install -y valgrind).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import eam
import methods
import run
from services import API_KEY, API_SECRET, ROOT, BenchError, Stack
from webhooks import take_calls, write_signed

# All within the codes' and hints' 10 minutes (the run takes ~3).
KINDS = ("live", "ready", "check", "answer", "key1", "totp", "eam")
CALLS = 500
PEOPLE = 10  # TOTP challenges rotate over them, as the benchmark's over its 2,000: each factor known to the process


def prepare(stack: Stack, folder: Path, per_run: int) -> dict:
    service = run.create_service(stack)
    run.create_pending(stack, service, run.CHECK_BLOCK, per_run + 1)
    calls = []
    for first in range(0, CALLS, 250):
        run.create_pending(stack, service, run.CALL_BLOCK, 250, "call_approve", first)
        calls += take_calls(stack)
    methods.FACTORS = PEOPLE
    people = methods.make_factors(stack, service, run.api)
    eam.PEOPLE = PEOPLE
    entra_people = eam.make_people(stack.web_url, stack.eam_service, run.api)
    return {"settings": stack.telverify_settings(), "service": service,
            "warm": per_run,  # the one number (and call) no counted run uses
            "files": {"answer": str(write_signed(calls, "answer", folder)),
                      "key1": str(write_signed(calls, "key", folder, Digits="1")),
                      # Codes of this moment: those of a later run are refused as used or old, by the same work.
                      "totp": str(methods.write_challenges(people, service, folder)),
                      # A hint opens one sign-in: one each for the warm-up and every counted request.
                      "eam": str(eam.write_authorizations(stack.microsoft, entra_people, folder, per_run + 1))}}


def requests_of(kind: str, state: dict, first: int, count: int) -> list[dict]:
    """WSGI environs of `count` requests of `kind`; checks use numbers first.. (one each)."""
    from werkzeug.test import EnvironBuilder

    def build(path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> dict:
        environ = EnvironBuilder(path=path, method=method, data=body, headers=headers or {},
                                 content_type="application/x-www-form-urlencoded" if body is not None else None,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        environ["wsgi.input"] = io.BytesIO(body or b"")
        return environ
    if kind in ("live", "ready"):
        return [build(f"/healthz/{kind}") for _ in range(count)]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()}
    if kind == "check":
        return [build(f"/v2/Services/{state['service']}/VerificationCheck", "POST",
                      f"To=%2B447401{index:06d}&Code=000000".encode(), auth) for index in range(first, first + count)]
    lines = Path(state["files"][kind]).read_text().splitlines()

    def headers(signature: str, marker: list[str]) -> dict:
        if marker == ["none"]:  # a browser's form (replay.lua's fourth field): no credentials
            return {}
        return {"X-Twilio-Signature": signature} if signature else auth
    return [build(path, "POST", body.encode(), headers(signature, marker))
            for path, body, signature, *marker in (lines[i % len(lines)].split("\t")
                                                   for i in range(first, first + count))]


def child(state_file: str, kind: str, first: int, count: int) -> None:
    """Under valgrind: build the app as gunicorn would, send one request to warm it (lazy imports,
    the thread's Redis connection), then `count`."""
    state = json.loads(Path(state_file).read_text())
    sys.path.insert(0, str(ROOT))
    from app import create_app
    app = create_app(state["settings"])  # the gunicorn stack's own configuration
    # What each gunicorn worker does once it has loaded the app (its garbage collector freeze):
    # otherwise a full collection of the loaded app, millions of instructions, lands in one run
    # or the other depending on what its requests allocate.
    runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["post_worker_init"](None)
    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1
    for environ in requests_of(kind, state, state["warm"], 1) + requests_of(kind, state, first, count):
        b"".join(app.wsgi_app(environ, start_response))
    print(json.dumps(statuses))


def count_instructions(state_file: str, kind: str, first: int, count: int) -> tuple[int, dict]:
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          __file__, "--child", state_file, kind, str(first), str(count)],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"), check=False)
    collected = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or collected is None:
        raise BenchError(f"valgrind {kind} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return int(collected.group(1)), json.loads(out.stdout.strip().splitlines()[-1])


def measure(state_file: str, kind: str, small: int, large: int, first: int) -> tuple[float, dict]:
    """Instructions per request of `kind`; the two runs use different numbers (a check counts)."""
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(count_instructions, state_file, kind, first, small)
        b = pool.submit(count_instructions, state_file, kind, first + small, large)
        (low, _), (high, statuses) = a.result(), b.result()
    return (high - low) / (large - small), statuses


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=250)
    parser.add_argument("--only", default=",".join(KINDS),
                        help=f"the request kinds to count, comma-separated (default: all of {', '.join(KINDS)})")
    options = parser.parse_args()
    kinds = [kind for kind in options.only.split(",") if kind]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)} (known: {', '.join(KINDS)})")
    if shutil.which("valgrind") is None:
        print("bench: valgrind not found; apt-get install -y valgrind, and run again.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="telverify-instructions-") as folder:
        stack = Stack(folder)
        try:
            stack.start()
            state_file = Path(folder) / "state.json"
            state_file.write_text(json.dumps(prepare(stack, Path(folder), options.small + options.large)))
            print(f"{'request':<10}{'instructions':>14}  statuses of the larger run")
            for kind in kinds:
                per_request, statuses = measure(str(state_file), kind, options.small, options.large, 0)
                print(f"{kind:<10}{per_request:>14,.0f}  {statuses}", flush=True)
        except BenchError as exc:
            print(f"bench: the run failed: {exc}", file=sys.stderr)
            return 1
        finally:
            stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
