"""Benchmark telverify under gunicorn as the Procfile runs it, driven by wrk on loopback.

Starts a private redis-server, the local Twilio stand-in (answering each text after 150 ms,
as Twilio does) and telverify; then measures a trivial endpoint of the same app (the
baseline), VerificationCheck, Verification create, and Redis memory per pending and per ended
verification, and compares them with the targets. It is a measurement, not a test: it
exits 0 when a target is missed, and non-zero only when the run itself fails.

    .venv/bin/python bench/run.py [--duration 5] [--rounds 3] [--connections 16] [--quick]
                            [--redis unix|tcp|both] [--wrk-normal-priority]
"""
from __future__ import annotations

import argparse
import base64
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import eam
import phonenumbers
import redis
import requests
from methods import FACTORS, PHONES, make_factors, make_people, make_phone_challenges, write_challenges
from services import (
    API_KEY,
    API_SECRET,
    TWILIO_DELAY,
    BenchError,
    CpuMeter,
    Stack,
    run_wrk,
    wrk_priority,
)
from webhooks import take_calls, write_signed

from verify.store import keys

# Every number is in the UK mobile block +44 7400-7409 (phonenumbers: valid, MOBILE), with a
# six-digit suffix; each use gets its own block so no two verifications share a number
# (a second create for a pending number is a re-send, not a create).
CHECK_BLOCK, CREATE_BLOCKS, WARMUP_BLOCK, MEMORY_BLOCK = "+447401", ("+447402", "+447403"), "+447408", "+447409"
CALL_BLOCK, PHONE_BLOCK = "+447404", "+447405"
CALLS = 2000            # pending approve calls whose webhooks are replayed in rotation
CALL_CHUNK = 250
MAX_CHECKS = 5          # per verification; after that telverify answers 429 (60202)
MEMORY_SAMPLE = 2000    # verifications created to measure Redis memory, pending and then ended
MEMORY_CHUNK = 100      # ended ones are made this many at a time, as working hashes come and go
CODE_SECONDS, KEPT_SECONDS = 600, 86400 + 60  # the default code lifetime; an ended one is kept a day
CREATE_HIGH_CONNECTIONS = 64
NAME_WIDTH = 52  # the report's scenario column: the longest name with "(run 3)"
AUTH = (API_KEY, API_SECRET)


def check_numbers() -> None:
    """Every block must hold valid mobile numbers, or creates would be refused (60200/60205)."""
    for block in (CHECK_BLOCK, *CREATE_BLOCKS, CALL_BLOCK, PHONE_BLOCK, WARMUP_BLOCK, MEMORY_BLOCK, eam.CALLING_BLOCK):
        for suffix in (*range(0, 1_000_000, 9973), 999_999):
            number = phonenumbers.parse(f"{block}{suffix:06d}")
            if not phonenumbers.is_valid_number(number) or \
                    phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
                raise BenchError(f"{block}{suffix:06d} is not a valid mobile number for phonenumbers")


def api() -> requests.Session:
    session = requests.Session()
    session.auth = AUTH
    return session


def create_service(stack: Stack) -> str:
    answer = api().post(f"{stack.web_url}/v2/Services", data={"FriendlyName": "Bench"}, timeout=10)
    if answer.status_code != 201:
        raise BenchError(f"creating the service failed: {answer.status_code} {answer.text}")
    return answer.json()["sid"]


def set_twilio_delay(stack: Stack, seconds: float) -> None:
    requests.post(f"{stack.standin_url}/_standin/config", json={"send_delay": seconds}, timeout=5).raise_for_status()


def start_verification(session, url: str, to: str, channel: str = "sms") -> str:
    """Start a verification for setup, once a carrier slot is free: a start that finds every
    slot of its process waiting on the stand-in answers 503 with Retry-After
    (TWILIO_THREADS_PER_WORKER). Its sid."""
    for _ in range(50):
        answer = session.post(url, data={"To": to, "Channel": channel}, timeout=30)
        if answer.status_code != 503 or "Retry-After" not in answer.headers:
            break
        time.sleep(0.2)
    if answer.status_code != 201:
        raise BenchError(f"setup create {to} failed: {answer.status_code} {answer.text}")
    return answer.json()["sid"]


def create_pending(stack: Stack, service: str, block: str, count: int, channel: str = "sms",
                   first: int = 0) -> None:
    """Start `count` verifications (numbers `first`... of `block`) through the API, 32 at a
    time, with the stand-in answering at once: setup is not what is measured, and should take
    seconds, not minutes."""
    local = threading.local()
    url = f"{stack.web_url}/v2/Services/{service}/Verifications"

    def one(index: int) -> None:
        if not hasattr(local, "session"):
            local.session = api()
        start_verification(local.session, url, f"{block}{index:06d}", channel)

    set_twilio_delay(stack, 0)
    pool = ThreadPoolExecutor(32)
    try:
        list(pool.map(one, range(first, first + count)))
    finally:
        pool.shutdown(cancel_futures=True)  # on an error or Ctrl-C, do not start the rest
        set_twilio_delay(stack, TWILIO_DELAY)
    if channel == "sms":  # calls bring no delivery reports, and settling would drop them (take_calls)
        settle(stack)


def settle(stack: Stack, seconds: float = 120) -> None:
    """Wait until the stand-in has POSTed both delivery reports (sent, delivered) of every
    text back to telverify, then forget the texts. Otherwise those callbacks would load
    telverify during the next scenario (and the stand-in's memory would only grow)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        messages = requests.get(f"{stack.standin_url}/_standin/messages", timeout=30).json()
        if all(len(message["callbacks"]) >= 2 for message in messages):
            refused = sum(1 for m in messages for c in m["callbacks"] if c["http_status"] != 204)
            if refused:  # e.g. a signature mismatch: then creates cost less than they should
                print(f"note: telverify did not take {refused} delivery reports (see stand-in callbacks)")
            requests.delete(f"{stack.standin_url}/_standin/messages", timeout=30)
            return
        time.sleep(0.5)
    raise BenchError("the stand-in's delivery callbacks did not finish")


def measure_memory(stack: Stack) -> dict:
    """On an emptied Redis: how much more memory MEMORY_SAMPLE pending verifications take; then,
    on an emptied Redis again, as many ended ones (canceled), made MEMORY_CHUNK at a time so that
    the ended working hashes never pile up (in steady state a day of ended verifications stands
    beside ten minutes of pending ones)."""
    store = redis.Redis.from_url(stack.redis_url, decode_responses=True)

    def sample() -> tuple[int, int, int]:
        stats = store.memory_stats()
        tables = stats.get("db.0", {})
        # used_memory also holds the clients' buffers, which come and go with traffic (+-150 B
        # per verification here): leave them out, so the figure is what the data costs.
        return (store.info("memory")["used_memory"] - stats["clients.normal"],
                tables.get("overhead.hashtable.main", 0) + tables.get("overhead.hashtable.expires", 0),
                stats["clients.normal"])

    def fresh() -> tuple[str, tuple]:
        store.flushall()
        service = create_service(stack)
        # A few first, so that telverify's connections to Redis are open and counted in `before`.
        create_pending(stack, service, WARMUP_BLOCK, 64)
        return service, sample()

    def ended(service: str, first: int, count: int) -> None:
        """Start `count` verifications (numbers first... of MEMORY_BLOCK), take their delivery
        reports, then cancel them."""
        url = f"{stack.web_url}/v2/Services/{service}/Verifications"

        def start(index: int) -> str:
            return start_verification(api(), url, f"{MEMORY_BLOCK}{index:06d}")

        def cancel(sid: str) -> None:
            answer = api().post(f"{url}/{sid}", data={"Status": "canceled"}, timeout=30)
            if answer.status_code != 200:
                raise BenchError(f"canceling {sid} failed: {answer.status_code} {answer.text}")
        set_twilio_delay(stack, 0)
        try:
            with ThreadPoolExecutor(32) as pool:
                sids = list(pool.map(start, range(first, first + count)))
                settle(stack)
                list(pool.map(cancel, sids))
        finally:
            set_twilio_delay(stack, TWILIO_DELAY)

    def growth(before: tuple, after: tuple, what: str) -> dict:
        number_key = next(key for key in store.scan_iter(match="tv:{*:number", count=1000)
                          if f"\n{MEMORY_BLOCK}" in store.get(key))  # one of the sample's, not the warm-up's
        working_key = next(store.scan_iter(match="tv:{*:ve:*", count=1000)) if what == "pending" else None
        return {f"{what}_per_verification": (after[0] - before[0]) / MEMORY_SAMPLE,
                f"{what}_key_tables": (after[1] - before[1]) / MEMORY_SAMPLE,
                f"{what}_client_buffers": (after[2] - before[2]) / MEMORY_SAMPLE,
                f"{what}_keys_each": (store.dbsize() - 2 - 2 * 64) / MEMORY_SAMPLE,
                f"{what}_number_key": store.memory_usage(number_key, samples=0),
                f"{what}_working": store.memory_usage(working_key, samples=0) if working_key else 0}

    service, before = fresh()
    create_pending(stack, service, MEMORY_BLOCK, MEMORY_SAMPLE)  # with their delivery reports
    memory = growth(before, sample(), "pending")
    service, before = fresh()
    for first in range(0, MEMORY_SAMPLE, MEMORY_CHUNK):
        ended(service, first, MEMORY_CHUNK)
    memory.update(growth(before, sample(), "ended"))
    # A person's methods, kept until deleted: an entity with an authenticator app and a phone.
    service, before = fresh()
    make_people(stack, service, api, MEMORY_BLOCK, MEMORY_SAMPLE)
    after = sample()
    memory["person"] = (after[0] - before[0]) / MEMORY_SAMPLE
    memory["person_keys_each"] = (store.dbsize() - 2 - 2 * 64) / MEMORY_SAMPLE
    # In steady state Redis holds a code lifetime of pending verifications and a day of ended ones.
    memory["per_create_per_second"] = (CODE_SECONDS * memory["pending_per_verification"]
                                       + KEPT_SECONDS * memory["ended_per_verification"])
    return memory


def measured(stack: Stack, scenario, sent: int = 0) -> dict:
    """Run a wrk scenario, `scenario(sent)`, and again (3 runs at most) when fewer gunicorn
    workers than cores held wrk's connections: keep-alive pins each connection to the worker
    that accepted it, and now and then one worker accepts them all, so that run left a core
    idle (half the throughput on 2 cores). The report shows the retries. `sent`: requests
    already made, so that no number is used twice; the result's "sent" continues it."""
    # With more workers than cores, a worker without connections leaves no core idle.
    busy_needed = min(stack.gunicorn_settings()["workers"], os.cpu_count() or 1)
    for attempt in range(1, 4):
        result = scenario(sent)
        sent += result["requests"]
        if result["spread"] is None or len(result["spread"]) >= busy_needed:
            break
    result["attempt"], result["sent"] = attempt, sent
    return result


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()


def verify_wrk(stack: Stack, service: str, endpoint: str, connections: int, duration: int, block: str,
               count: int, extra: str):
    """A wrk scenario (for measured) POSTing the Verify API, a new number from `block` each time."""
    return lambda sent: run_wrk(
        stack.web_url, connections, duration, stack.sessions, script="verify.lua",
        path=f"/v2/Services/{service}/{endpoint}", auth=basic_auth(), prefix=block, count=count, extra=extra,
        offset=sent)


def fetch_wrk(stack: Stack, connections: int, duration: int, file):
    """A wrk scenario (for measured) GETting the verifications whose paths are in `file`."""
    return lambda sent: run_wrk(stack.web_url, connections, duration, stack.sessions, script="replay.lua",
                                file=file, auth=basic_auth(), offset=sent)


def replay_wrk(stack: Stack, connections: int, duration: int, file):
    """A wrk scenario (for measured) replaying the signed webhook requests of `file` in turn."""
    return lambda sent: run_wrk(stack.web_url, connections, duration, stack.sessions, script="replay.lua",
                                file=file, offset=sent)


def baseline(stack: Stack, connections: int, duration: int) -> dict:
    return measured(stack, lambda _: run_wrk(f"{stack.web_url}/healthz/live", connections, duration, stack.sessions))


def paired(stack: Stack, connections: int, duration: int, rounds: int, scenario) -> dict:
    """`rounds` runs of `scenario`, each between two runs of the baseline (B S B S B ...: one
    more baseline than scenario runs), each taken against the mean of the two baselines around
    it; the run with the median ratio stands for the scenario, with every run's ratio and the
    worst p99 of all. A virtual machine's speed drifts by 10% and more over minutes, so a ratio
    is taken against baselines of the same moments, and one on each side cancels a steady
    drift. A single run can still be 20% off, so the figure is the median of a few, and the
    report shows their spread."""
    runs, sent = [], 0
    before = baseline(stack, connections, duration)
    for _ in range(rounds):
        result = measured(stack, scenario, sent)
        after = baseline(stack, connections, duration)
        sent, result["base"] = result["sent"], (before["rps"] + after["rps"]) / 2
        result["ratio"] = result["rps"] / result["base"]
        result["base_p99"] = max(before["p99"], after["p99"])
        runs.append(result)
        before = after
    runs.sort(key=lambda r: r["ratio"])
    median = dict(runs[len(runs) // 2])
    median["ratios"] = [r["ratio"] for r in runs]
    median["worst_p99"] = max(r["p99"] for r in runs)
    # The trivial endpoint's own tail in the same minutes: what the host's scheduling alone costs.
    median["base_worst_p99"] = max(r["base_p99"] for r in runs)
    return median


def run(duration: int, connections: int, rounds: int, stack: Stack) -> tuple[list, dict]:
    rows = []  # (scenario, connections, wrk result)
    rows.append(("baseline GET /healthz/live", connections, baseline(stack, connections, duration)))
    # The floor for any endpoint that touches Redis: the same app, one round trip (PING).
    rows.append(("reference GET /healthz/ready (1 PING)", connections, paired(
        stack, connections, duration, rounds, lambda _: run_wrk(
            f"{stack.web_url}/healthz/ready", connections, duration, stack.sessions))))
    service = create_service(stack)

    # Each verification takes MAX_CHECKS wrong codes (200) before it answers 429 (60202). Make
    # enough that most checks are 200, guessing checks run at ~0.6x baseline; had they run
    # faster, the status column shows the 429s. (Setup is CPU-bound: ~100-150 creates/s here.)
    needed = math.ceil(rows[0][2]["rps"] * 0.6 * duration * rounds * 2 / MAX_CHECKS)  # x2: room for repeats
    numbers = min(max(2000, needed), 20000)
    print(f"setup: {numbers} pending verifications to check ...", flush=True)
    started = time.monotonic()
    create_pending(stack, service, CHECK_BLOCK, numbers)
    print(f"setup: done in {time.monotonic() - started:.1f} s", flush=True)
    rows.append(("VerificationCheck (wrong code)", connections, paired(stack, connections, duration, rounds, verify_wrk(
        stack, service, "VerificationCheck", connections, duration, CHECK_BLOCK, numbers, "&Code=000000"))))

    # Creates wait on the stand-in's 150 ms. At C connections a client can make at most
    # C / 0.15 s creates per second, so 16 connections cannot show 150/s; 64 can.
    for conns, block in zip(sorted({connections, CREATE_HIGH_CONNECTIONS}), CREATE_BLOCKS):
        rows.append(("Verification create", conns, measured(stack, verify_wrk(
            stack, service, "Verifications", conns, duration, block, 1_000_000, "&Channel=sms"))))
        settle(stack)
    rows += voice_webhooks(stack, service, connections, duration, rounds)
    rows.append(phone_challenge_webhooks(stack, service, connections, duration, rounds))
    rows.append(totp_challenges(stack, service, connections, duration, rounds))
    rows.append(eam_authorize(stack, connections, duration, rounds, rows[0][2]["rps"]))
    rows.append(eam_status(stack, connections, duration, rounds))
    return rows, measure_memory(stack)  # last: it empties Redis


def eam_authorize(stack: Stack, connections: int, duration: int, rounds: int, baseline_rps: float) -> tuple:
    """Entra's browser opening a sign-in (bench/eam.py): each request a hint never sent before,
    checked with Microsoft's cached keys, spent, and the person's methods page rendered."""
    print(f"setup: {eam.PEOPLE} people of the Entra tenant with a verified authenticator app ...", flush=True)
    people = eam.make_people(stack.web_url, stack.eam_service, api)
    # Enough that no run comes back to a hint it sent (a replay is refused, by other work), guessing
    # it runs at 0.6x baseline at most; a run that sent more than the file holds fails below.
    count = max(eam.HINTS, math.ceil(baseline_rps * 0.6 * duration * 1.5))
    sample = eam.authorize_form(stack.microsoft, people[0], -1)
    page = requests.post(f"{stack.web_url}/eam/authorize", data=sample, timeout=30,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    if page.status_code != 200 or 'name="method"' not in page.text:
        raise BenchError(f"/eam/authorize did not render the methods page: {page.status_code} {page.text[:300]}")
    store = redis.Redis.from_url(stack.redis_url)

    def spent() -> int:
        return sum(1 for _ in store.scan_iter(match=keys.eam_hint("*"), count=10_000))

    def scenario(_: int) -> dict:
        started = time.monotonic()
        file = eam.write_authorizations(stack.microsoft, people, stack.folder, count)
        print(f"setup: {count} hints signed in {time.monotonic() - started:.1f} s", flush=True)
        before = spent()
        result = run_wrk(stack.web_url, connections, duration, stack.sessions, script="replay.lua", file=file)
        opened = spent() - before
        if result["requests"] > count or opened < result["statuses"].get(200, result["requests"]):
            raise BenchError(f"EAM authorize: {result['requests']} requests from {count} hints opened {opened} "
                             "sign-ins: some hint was sent twice or refused")
        return result
    return ("EAM authorize (hint checked, page rendered)", connections,
            paired(stack, connections, duration, rounds, scenario))


def eam_status(stack: Stack, connections: int, duration: int, rounds: int) -> tuple:
    """A calling page polling its sign-in while the press-# call rings (bench/eam.py): the
    sign-in, then its challenge with the entity, then the call's verification, read."""
    print(f"setup: {eam.CALLING} Entra sign-ins of people with a verified phone, each with a press-# call "
          "ringing ...", flush=True)
    started = time.monotonic()
    set_twilio_delay(stack, 0)
    try:
        # Each phone proven as its registration would: a first challenge, its call's # pressed.
        people = make_phone_challenges(stack, stack.eam_service, api, eam.CALLING_BLOCK, 0, eam.CALLING)
        folder = stack.folder / "calling"
        folder.mkdir(exist_ok=True)
        for line in write_signed(take_calls(stack), "key", folder, Digits="#").read_text().splitlines():
            path, body, signature = line.split("\t")
            pressed = requests.post(f"{stack.web_url}{path}", data=body, timeout=30, headers={
                "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
            if pressed.status_code != 200:
                raise BenchError(f"setup: # on a proving call failed: {pressed.status_code} {pressed.text[:300]}")
        signins = eam.open_calling_signins(stack.web_url, stack.microsoft,
                                           [(identity, factor) for identity, factor, _ in people])
        if len(take_calls(stack)) != eam.CALLING:  # dropped: each stays ringing, its challenge pending
            raise BenchError("setup: not every sign-in placed its call")
    finally:
        set_twilio_delay(stack, TWILIO_DELAY)
    print(f"setup: done in {time.monotonic() - started:.1f} s", flush=True)
    file = eam.write_status_polls(signins, folder)

    def pending() -> int:
        return sum(requests.post(f"{stack.web_url}/eam/signin/status", data={"signin": signin}, timeout=10).json()
                   == {"status": "pending"} for signin in signins[:20])
    if pending() != 20:
        raise BenchError("setup: a polled sign-in's call is not pending")
    row = ("EAM status poll (a call ringing)", connections,
           paired(stack, connections, duration, rounds, replay_wrk(stack, connections, duration, file)))
    if pending() != 20:
        raise BenchError("a polled sign-in's call ended during the runs: they measured another answer")
    return row


def totp_challenges(stack: Stack, service: str, connections: int, duration: int, rounds: int) -> tuple:
    """An authenticator app's code checked through a challenge (bench/methods.py)."""
    print(f"setup: {FACTORS} people with a verified authenticator app ...", flush=True)
    started = time.monotonic()
    factors = make_factors(stack, service, api)
    print(f"setup: done in {time.monotonic() - started:.1f} s", flush=True)

    def scenario(sent: int) -> dict:
        # Written at each run: a code is current for its time step (and the service's skew).
        file = write_challenges(factors, service, stack.folder)
        return run_wrk(stack.web_url, connections, duration, stack.sessions, script="replay.lua", file=file,
                       auth=basic_auth(), offset=sent)
    return ("TOTP challenge (a code)", connections, paired(stack, connections, duration, rounds, scenario))


def phone_challenge_webhooks(stack: Stack, service: str, connections: int, duration: int, rounds: int) -> tuple:
    """# on approve calls that phone challenges placed (bench/methods.py): the decision and, the
    first time, the challenge settled with its factor verified, in the webhook. Later ones in the
    rotation are repeats, as in voice_webhooks."""
    print(f"setup: {PHONES} people with a phone factor and a pending approve-call challenge ...", flush=True)
    started = time.monotonic()
    people, calls = [], []
    set_twilio_delay(stack, 0)
    try:
        for first in range(0, PHONES, CALL_CHUNK):  # in chunks, as voice_webhooks: unanswered calls end
            people += make_phone_challenges(stack, service, api, PHONE_BLOCK, first, min(CALL_CHUNK, PHONES - first))
            calls += take_calls(stack)
    finally:
        set_twilio_delay(stack, TWILIO_DELAY)
    if len(calls) != PHONES:
        raise BenchError(f"setup: {len(calls)} calls reached the stand-in, not {PHONES}")
    print(f"setup: done in {time.monotonic() - started:.1f} s", flush=True)
    folder = stack.folder / "phone"
    folder.mkdir(exist_ok=True)
    pounds = write_signed(calls, "key", folder, Digits="#")
    row = ("webhook /voice/key # on a phone challenge", connections,
           paired(stack, connections, duration, rounds, replay_wrk(stack, connections, duration, pounds)))
    # The factor is verified only by a settled challenge, and no read of the challenge came first.
    verified = sum(api().get(f"{stack.web_url}/v2/Services/{service}/Entities/{identity}/Factors/{factor}",
                             timeout=10).json().get("status") == "verified" for identity, factor, _ in people[:50])
    if verified != 50:
        raise BenchError(f"after the # scenario only {verified} of 50 sampled phone factors were verified")
    return row


def voice_webhooks(stack: Stack, service: str, connections: int, duration: int, rounds: int) -> list:
    """Twilio's side of approve calls: the answer URL, a key that replays the prompt, and #.
    Each first # approves its verification; later ones in the rotation are Twilio-style
    repeats, answered with the same farewell after the script sees the decision was made."""
    print(f"setup: {CALLS} pending approve calls ...", flush=True)
    started = time.monotonic()
    calls = []
    # In chunks: an unanswered call rings for 30 s and would then end as no-answer.
    for first in range(0, CALLS, CALL_CHUNK):
        create_pending(stack, service, CALL_BLOCK, min(CALL_CHUNK, CALLS - first), "call_approve", first)
        calls += take_calls(stack)
    if len(calls) != CALLS:
        raise BenchError(f"setup: {len(calls)} calls reached the stand-in, not {CALLS}")
    print(f"setup: done in {time.monotonic() - started:.1f} s", flush=True)
    folder = stack.folder
    files = {"answer": write_signed(calls, "answer", folder), "key 1": write_signed(calls, "key", folder, Digits="1"),
             "key #": write_signed(calls, "key", folder, Digits="#")}
    expect_twiml(files["answer"], stack, "<Gather")  # the prompt, not the apology for a finished call
    expect_twiml(files["key 1"], stack, "<Gather")
    # How an application waits for a press-# call: it polls the verification until it is decided.
    fetches = folder / "fetch-paths.txt"
    fetches.write_text("".join(f"/v2/Services/{service}/Verifications/{c['verification_sid']}\n" for c in calls))
    rows = [("Verification fetch (a pending call)", connections,
             paired(stack, connections, duration, rounds, fetch_wrk(stack, connections, duration, fetches)))]
    for name, what in (("answer", "webhook /voice/answer"), ("key 1", "webhook /voice/key, key 1 (prompt again)"),
                       ("key #", "webhook /voice/key, key # (approve)")):
        rows.append((what, connections, paired(stack, connections, duration, rounds,
                                               replay_wrk(stack, connections, duration, files[name]))))
    approved = sum(api().get(f"{stack.web_url}/v2/Services/{service}/Verifications/{c['verification_sid']}",
                             timeout=10).json().get("status") == "approved" for c in calls[:50])
    if approved != 50:
        raise BenchError(f"after the # scenario only {approved} of 50 sampled approve calls were approved")
    return rows


def expect_twiml(file, stack: Stack, marker: str) -> None:
    path, body, signature = file.read_text().splitlines()[0].split("\t")
    answer = requests.post(stack.web_url + path, data=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    if answer.status_code != 200 or marker not in answer.text:
        raise BenchError(f"{path} answered {answer.status_code} without {marker}: {answer.text[:300]}")


def report(rows: list, memory: dict, stack: Stack, duration: int, rounds: int, wrk_runs: str) -> None:
    gunicorn = stack.gunicorn_settings()
    # The interpreter matters: pyenv's default build (no PGO, libpython shared) ran 5-25% slower.
    interpreter = os.path.realpath(getattr(sys, "_base_executable", sys.executable))  # the venv's base
    python = f"Python {platform.python_version()} ({interpreter})"
    print(f"\nmachine: nproc={os.cpu_count()}; {python}; gunicorn {gunicorn['worker_class']}: "
          f"workers={gunicorn['workers']}, "
          f"threads={gunicorn['threads']} (config/gunicorn.conf.py); Twilio stand-in delay "
          f"{TWILIO_DELAY * 1000:.0f} ms; Redis on {stack.redis_url}; wrk -t2 --latency, {duration} s per run, on "
          f"the same machine, at {wrk_runs}.\n"
          f"CPU: share of all cores busy during the scenario; other: the part not used by this benchmark's\n"
          f"processes (over a few % means other work on this machine lowered the figures: run again);\n"
          f"per worker: connections each gunicorn worker held mid-run; (run N): the earlier runs had a\n"
          f"worker without any of wrk's keep-alive connections, so they were repeated.\n"
          f"base: the mean req/s of the baseline runs just before and just after the scenario's run,\n"
          f"which x base divides by (this machine's speed drifts over minutes); without one, the first\n"
          f"row's. A scenario with a base ran {rounds} time(s), each between two baseline runs: its row is\n"
          f"the run with the median ratio, 'x base range' spans every run's, its p99 is the worst of all\n"
          f"its runs, and 'base p99' the worst of those baselines' (the trivial endpoint's tail: what\n"
          f"this machine's scheduling alone costs).\n")
    first_baseline = rows[0][2]["rps"]
    print(f"{'scenario':<{NAME_WIDTH}}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'base':>7}"
          f"{'base p99':>9}{'x base':>8}{'x base range':>14}{'CPU':>6}{'other':>7}{'per worker':>12}  statuses")
    for name, conns, r in rows:
        mix = ", ".join(f"{s}: {n}" for s, n in sorted(r["statuses"].items())) or f"{r['requests']} (not split)"
        cpu, other = (f"{r[k]:.0%}" if r[k] is not None else "-" for k in ("cpu", "other_cpu"))
        spread = "-" if r["spread"] is None else "+".join(
            map(str, r["spread"] + [0] * (gunicorn["workers"] - len(r["spread"]))))
        name += f" (run {r['attempt']})" if r["attempt"] > 1 else ""
        base = r.get("base", first_baseline)
        ratios = r.get("ratios", [])
        span = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else "-"
        base_p99 = f"{r['base_worst_p99']:.2f}" if "base_worst_p99" in r else "-"
        print(f"{name:<{NAME_WIDTH}}{conns:>6}{r['rps']:>9.0f}{r['p50']:>9.2f}{r.get('worst_p99', r['p99']):>9.2f}"
              f"{r['non_2xx']:>9}{base:>7.0f}{base_p99:>9}{r['rps'] / base:>8.2f}{span:>14}{cpu:>6}{other:>7}"
              f"{spread:>12}  {mix}")
        if r["socket_errors"]:
            print(f"{'':<{NAME_WIDTH}}wrk socket errors: {r['socket_errors']}")
    print("\nCPU per request, in us over both cores (from /proc; where the time goes): gunicorn (telverify's"
          "\nprocesses), Redis, the Twilio stand-in (its sends and delivery reports: Twilio's work, which on this"
          "\nmachine takes CPU from telverify), wrk, and all of the machine's busy time (the kernel's loopback"
          "\nwork included).")
    print(f"{'scenario':<{NAME_WIDTH}}{'gunicorn':>9}{'redis':>7}{'stand-in':>9}{'wrk':>6}{'all':>6}")
    for name, _, r in rows:
        if r["requests"] and r["cpu"] is not None:
            per = {stack.names.get(k, k): v / r["requests"] * 1e6 for k, v in r["used"].items()}
            every = r["cpu"] * (os.cpu_count() or 1) / r["rps"] * 1e6
            print(f"{name:<{NAME_WIDTH}}{per.get('gunicorn', 0):>9.0f}{per.get('redis', 0):>7.0f}"
                  f"{per.get('standin', 0):>9.0f}{per.get('wrk', 0):>6.0f}{every:>6.0f}")
    for what in ("pending", "ended"):
        print(f"\nRedis memory per {what} verification: {memory[what + '_per_verification']:.0f} B = growth of "
              f"used_memory over {MEMORY_SAMPLE}, less client buffers ({memory[what + '_client_buffers']:+.0f} B "
              f"each); of which {memory[what + '_key_tables']:.0f} B key tables (main + expires); "
              f"{memory[what + '_keys_each']:.0f} keys each.\nMEMORY USAGE: the number's key "
              f"{memory[what + '_number_key']} B" + (f", the working hash {memory[what + '_working']} B."
                                                       if memory[what + "_working"] else "; no working hash."))
    print(f"Steady state per create per second ({CODE_SECONDS} s codes): {CODE_SECONDS} s x pending + "
          f"{KEPT_SECONDS} s x ended = {memory['per_create_per_second'] / 1e6:.1f} MB.")
    print(f"Redis memory per person with an authenticator app and a mobile phone: {memory['person']:.0f} B "
          f"(growth of used_memory over {MEMORY_SAMPLE}, less client buffers; {memory['person_keys_each']:.0f} keys "
          f"each).\n")

    check = rows[2][2]
    targets = [("VerificationCheck >= 0.5x baseline throughput (median run)", check["ratio"] >= 0.5,
                f"{check['ratio']:.2f}x"),
               ("VerificationCheck p99 < 25 ms (worst run)", check["worst_p99"] < 25, f"{check['worst_p99']:.2f} ms")]
    for name, conns, r in rows[3:]:
        if name.startswith("webhook"):
            targets.append((f"{name} >= 0.5x baseline, p99 < 20 ms", r["ratio"] >= 0.5 and r["worst_p99"] < 20,
                            f"{r['ratio']:.2f}x, p99 {r['worst_p99']:.2f} ms"))
            continue
        if name.startswith(("Verification fetch", "TOTP challenge", "EAM")):
            targets.append((f"{name} >= 0.5x baseline, p99 < 25 ms", r["ratio"] >= 0.5 and r["worst_p99"] < 25,
                            f"{r['ratio']:.2f}x, p99 {r['worst_p99']:.2f} ms"))
            continue
        ceiling = conns / TWILIO_DELAY
        if ceiling < 150:  # no server can: each of the client's connections waits 150 ms a create
            targets.append((f"create at {conns} connections (the 150/s target is judged where the client allows "
                            f"it)", None, f"{r['rps']:.0f}/s of the client's ceiling, {conns}/{TWILIO_DELAY} s = "
                            f"{ceiling:.0f}/s"))
            continue
        # A create beyond a process's TWILIO_THREADS_PER_WORKER answers 503 at once: only 2xx answers are creates.
        created = r["rps"] * (r["requests"] - r["non_2xx"]) / max(r["requests"], 1)
        targets.append((f"create >= 150/s at {conns} connections", created >= 150, f"{created:.0f}/s created"))
    targets.append(("Redis < 1 KB per pending verification", memory["pending_per_verification"] < 1024,
                    f"{memory['pending_per_verification']:.0f} B"))
    for name, met, figure in targets:
        print(f"{'----' if met is None else 'PASS' if met else 'MISS'}  {name}: {figure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="scenario runs per ratio, each between two baseline runs; the median counts (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--quick", action="store_true", help="one round of 3-second runs: a smoke run")
    parser.add_argument("--wrk-normal-priority", action="store_true",
                        help="run wrk at normal priority, not real time (p99 then counts wrk's waits for a core)")
    parser.add_argument("--redis", choices=("unix", "tcp", "both"), default="both",
                        help="reach Redis on a Unix socket (as ./dev run's private Redis), over TCP on loopback (as "
                             "any Redis on another host, Sentinel or Cluster), or run the whole bench on each "
                             "(default: both)")
    parser.add_argument("--redis-tcp", action="store_const", const="tcp", dest="redis",
                        help="the same as --redis tcp")
    options = parser.parse_args()
    duration, rounds = (3, 1) if options.quick else (options.duration, max(1, options.rounds))
    missing = [tool for tool in ("wrk", "redis-server") if shutil.which(tool) is None]
    if missing:
        print(f"bench: {' and '.join(missing)} not found; install the Debian packages "
              f"(apt-get install -y {' '.join(missing)}) and run again.", file=sys.stderr)
        return 2
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so the finally below kills everything.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    transports = ("unix", "tcp") if options.redis == "both" else (options.redis,)
    for transport in transports:
        status = bench_once(options, duration, rounds, redis_tcp=transport == "tcp")
        if status:
            return status
    return 0


def bench_once(options, duration: int, rounds: int, redis_tcp: bool) -> int:
    """One whole run of the bench, with Redis on a Unix socket or over TCP; 0 when it ran."""
    with tempfile.TemporaryDirectory(prefix="telverify-bench-") as folder:
        stack = Stack(folder, redis_tcp=redis_tcp)
        wrk_runs = wrk_priority(not options.wrk_normal_priority)
        try:
            check_numbers()
            meter = CpuMeter([])
            time.sleep(1)
            busy, _, _ = meter.stop()
            if busy is not None and busy > 0.2:
                print(f"note: {busy:.0%} of the CPU was busy before the run started; "
                      "other work on this machine lowers these figures", flush=True)
            stack.start()
            print(f"running: redis {stack.redis_url}, stand-in {stack.standin_url}, telverify {stack.web_url}",
                  flush=True)
            rows, memory = run(duration, options.connections, rounds, stack)
            report(rows, memory, stack, duration, rounds, wrk_runs)
        except (BenchError, requests.RequestException, redis.RedisError) as exc:
            print(f"bench: the run failed: {exc}", file=sys.stderr)
            gunicorn_log = stack.log_tail("gunicorn", 2000)
            if gunicorn_log:
                print(f"--- gunicorn log (tail) ---\n{gunicorn_log}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        finally:
            stack.close()  # kills every process group, before the folder is removed
    return 0


if __name__ == "__main__":
    sys.exit(main())
