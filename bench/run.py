"""Benchmark: telverify under gunicorn as the Procfile runs it, driven by wrk on loopback.

Starts a private redis-server, the local Twilio stand-in answering Messages after 150 ms
(Twilio's latency), and gunicorn; then measures a trivial endpoint of the same app (the
baseline), VerificationCheck and Verification create, and Redis memory per pending
verification. Prints figures and how they compare to the targets. It is a measurement,
not a test: it exits 0 when a target is missed, non-zero only when the run itself fails.

    .venv/bin/python bench/run.py [--duration 10] [--connections 16] [--quick]
"""
from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 31 + "1", "bench-auth-token-0123456789"
API = ("bench", "bench-secret-0123456789")
TWILIO_DELAY = 0.15
CHECK_NUMBERS, CHECK_PREFIX, CREATE_PREFIX, MEMORY_PREFIX = 6000, "+4474000", "+4474100", "+4474200"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(stack: ExitStack, args: list[str], env=None) -> subprocess.Popen:
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)

    def stop():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    stack.callback(stop)
    return process


def wait_for(url: str, process: subprocess.Popen, name: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            sys.exit(f"{name} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    sys.exit(f"{name} did not become ready at {url}")


def start_everything(stack: ExitStack, folder: str) -> tuple[str, str, str]:
    redis_port, standin_port, web_port = free_port(), free_port(), free_port()
    spawn(stack, ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", folder,
                  "--save", "", "--appendonly", "no"])
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    standin_url = f"http://127.0.0.1:{standin_port}"
    standin = spawn(stack, [sys.executable, "-m", "twilio_standin", "--host", "127.0.0.1", "--port",
                            str(standin_port), "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN,
                            "--send-delay", str(TWILIO_DELAY), "--quiet"])
    wait_for(f"{standin_url}/_standin/health", standin, "the stand-in")
    web_url = f"http://127.0.0.1:{web_port}"
    env = dict(os.environ, PORT=str(web_port), REDIS_URL=redis_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER="+15017122661", TWILIO_API_BASE_URL=standin_url,
               PUBLIC_BASE_URL=web_url, API_CREDENTIALS=":".join(API), SECRET_KEY="bench-" + "k" * 40,
               LOG_LEVEL="WARNING")
    procfile = (ROOT / "Procfile").read_text().split("web:", 1)[1].split()
    gunicorn = spawn(stack, [str(Path(sys.executable).parent / procfile[0]), *procfile[1:]], env=env)
    wait_for(f"{web_url}/healthz/ready", gunicorn, "gunicorn")
    return redis_url, standin_url, web_url


def set_twilio_delay(standin_url: str, seconds: float) -> None:
    requests.post(f"{standin_url}/_standin/config", json={"send_delay": seconds}, timeout=5).raise_for_status()
    requests.delete(f"{standin_url}/_standin/messages", timeout=30)


def create_verifications(web_url: str, service: str, prefix: str, count: int) -> None:
    def one(index: int) -> None:
        answer = requests.post(f"{web_url}/v2/Services/{service}/Verifications", auth=API,
                               data={"To": f"{prefix}{index:05d}", "Channel": "sms"}, timeout=30)
        if answer.status_code != 201:
            sys.exit(f"setup failed: {answer.status_code} {answer.text}")
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(count)))


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, duration: int, **lua_env) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if lua_env:
        args += ["-s", str(ROOT / "bench" / "wrk_verify.lua")]
    env = dict(os.environ, **{f"BENCH_{k.upper()}": str(v) for k, v in lua_env.items()})
    out = subprocess.run(args + [url], env=env, capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * _UNITS[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50"),
            "p99": latency("99"), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "socket_errors": errors.group(1) if errors else "none"}


def memory_per_verification(redis_url: str, web_url: str, service: str, count: int) -> tuple[float, float]:
    """Two views: the growth of used_memory over many verifications (which also counts the
    main dictionaries' growth, and is measured with the setup's connections already open so
    their buffers are not counted), and the sum of MEMORY USAGE over one verification's keys."""
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter("tv:{*"):  # keep the service, drop every verification
        store.delete(key)
    create_verifications(web_url, service, "+4474500", 64)  # opens the connections the setup uses
    before = store.info("memory")["used_memory"]
    create_verifications(web_url, service, MEMORY_PREFIX, count)
    after = store.info("memory")["used_memory"]
    keys = [k for k in store.scan_iter(f"tv:{{*", count=1000)]
    per_key_sum = sum(store.memory_usage(k) for k in keys) / ((len(keys)) / 2)
    return (after - before) / count, per_key_sum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="3-second scenarios, a smoke run")
    options = parser.parse_args()
    duration = 3 if options.quick else options.duration
    conns = options.connections
    if not shutil.which("wrk") or not shutil.which("redis-server"):
        sys.exit("wrk and redis-server are needed: ./dev bench installs them")
    auth = "Basic " + base64.b64encode(":".join(API).encode()).decode()

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="telverify-bench-") as folder:
        redis_url, standin_url, web_url = start_everything(stack, folder)
        service = requests.post(f"{web_url}/v2/Services", auth=API, data={"FriendlyName": "Bench"}).json()["sid"]
        set_twilio_delay(standin_url, 0)  # setup need not wait on "Twilio"
        create_verifications(web_url, service, CHECK_PREFIX, CHECK_NUMBERS)
        set_twilio_delay(standin_url, TWILIO_DELAY)

        results = {"baseline GET /healthz/live": (conns, wrk(f"{web_url}/healthz/live", conns, duration))}
        results["VerificationCheck"] = (conns, wrk(
            web_url, conns, duration, path=f"/v2/Services/{service}/VerificationCheck", auth=auth, kind="check",
            prefix=CHECK_PREFIX, count=CHECK_NUMBERS))
        for connections in sorted({conns, 64}):
            results[f"Verification create @{connections}"] = (connections, wrk(
                web_url, connections, duration, path=f"/v2/Services/{service}/Verifications", auth=auth,
                kind="create", prefix=CREATE_PREFIX, count=100000))
            requests.delete(f"{standin_url}/_standin/messages", timeout=30)
        set_twilio_delay(standin_url, 0)
        per_verification, per_key_sum = memory_per_verification(redis_url, web_url, service, 5000)

    report(results, per_verification, per_key_sum, duration)


def report(results: dict, per_verification: float, per_key_sum: float, duration: int) -> None:
    baseline = results["baseline GET /healthz/live"][1]["rps"]
    print(f"\ntelverify benchmark: {os.cpu_count()} cores, gunicorn gthread, WEB_CONCURRENCY="
          f"{os.environ.get('WEB_CONCURRENCY', os.cpu_count())}, threads={os.environ.get('GUNICORN_THREADS', 32)}, "
          f"Twilio stand-in delay {TWILIO_DELAY * 1000:.0f} ms, wrk -t2, {duration} s per scenario\n")
    print(f"{'scenario':<30}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'x base':>8}")
    for name, (connections, r) in results.items():
        print(f"{name:<30}{connections:>6}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['non_2xx']:>9}"
              f"{r['rps'] / baseline:>8.2f}")
        if r["socket_errors"] != "none":
            print(f"{'':<30}socket errors: {r['socket_errors']}")
    print(f"\nRedis memory per pending verification: {per_verification:.0f} bytes of used_memory growth "
          f"over 5000; {per_key_sum:.0f} bytes by MEMORY USAGE of its keys (hash + latest pointer)")
    check = results["VerificationCheck"][1]
    creates = max(r["rps"] for name, (_, r) in results.items() if name.startswith("Verification create"))
    targets = [
        ("check throughput >= 0.5x baseline", check["rps"] / baseline >= 0.5, f"{check['rps'] / baseline:.2f}x"),
        ("check p99 < 25 ms", check["p99"] < 25, f"{check['p99']:.2f} ms"),
        ("create >= 150/s while Twilio takes 150 ms", creates >= 150, f"{creates:.0f}/s (best of runs)"),
        ("< 1 KB Redis per pending verification", per_verification < 1024, f"{per_verification:.0f} B"),
    ]
    print()
    for name, met, figure in targets:
        print(f"{'PASS' if met else 'MISS'}  {name}: {figure}")


if __name__ == "__main__":
    main()
