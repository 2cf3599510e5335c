"""How telverify scales with processes, and what that means for sizing a deployment.

For 1 and then 2 gunicorn processes (WEB_CONCURRENCY), each a fresh stack as bench/run.py
starts it, on Redis over a Unix socket and then over TCP: the trivial endpoint and
VerificationCheck, paired runs as the main benchmark takes them, then creates at 64 connections,
with each process's CPU per check and per create. From one process's CPU per verification (a
create with its two delivery reports, and a check) it derives the sizing rule: a core of
telverify serves about 1 / (its CPU per verification) verifications a second, and one Redis,
which runs every script on one thread, at most 1 / (Redis's CPU per verification).

    .venv/bin/python bench/scaling.py [--duration 5] [--rounds 3] [--connections 16]
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import tempfile

from run import (
    CHECK_BLOCK,
    CREATE_BLOCKS,
    MAX_CHECKS,
    baseline,
    create_pending,
    create_service,
    measured,
    paired,
    settle,
    verify_wrk,
)
from services import TWILIO_DELAY, BenchError, Stack, wrk_priority

CORES = (1, 4, 16)  # the deployments the sizing rule is worked out for
HEADROOM = 0.7  # the share of a core or of Redis's thread to plan for: bursts, and p99 below 25 ms


def measure(processes: int, redis_tcp: bool, duration: int, rounds: int, connections: int) -> dict:
    """The baseline and the check, with `processes` gunicorn processes: req/s, ratio, CPU."""
    os.environ["WEB_CONCURRENCY"] = str(processes)
    with tempfile.TemporaryDirectory(prefix="telverify-scaling-") as folder:
        stack = Stack(folder, redis_tcp=redis_tcp)
        try:
            stack.start()
            base = baseline(stack, connections, duration)
            service = create_service(stack)
            numbers = min(max(2000, math.ceil(base["rps"] * 0.6 * duration * rounds * 2 / MAX_CHECKS)), 20000)
            create_pending(stack, service, CHECK_BLOCK, numbers)
            check = paired(stack, connections, duration, rounds, verify_wrk(
                stack, service, "VerificationCheck", connections, duration, CHECK_BLOCK, numbers, "&Code=000000"))
            # Creates at as many connections as the check's, fewer than a process's Twilio slots:
            # every one is a create (at 64, most answers would be 503s sent at once for want of a
            # slot, whose work would count against the creates). Each text's two delivery reports
            # come back during the run, so the CPU per create counts them.
            create = measured(stack, verify_wrk(stack, service, "Verifications", connections, duration,
                                                CREATE_BLOCKS[1], 1_000_000, "&Channel=sms"))
            settle(stack)
            created = create["statuses"].get(201, 0) or create["requests"] - create["non_2xx"]
            return {"base": check["base"], "rps": check["rps"], "ratio": check["ratio"], "p99": check["worst_p99"],
                    "telverify_us": cpu_us(stack, check, "gunicorn"), "redis_us": cpu_us(stack, check, "redis"),
                    "creates": create["rps"] * created / max(create["requests"], 1),
                    "create_us": cpu_us(stack, create, "gunicorn", created),
                    "create_redis_us": cpu_us(stack, create, "redis", created)}
        finally:
            stack.close()


def cpu_us(stack, result: dict, process: str, count: int | None = None) -> float:
    """µs of CPU `process` ("gunicorn", "redis") spent per request of a wrk run, or per `count`."""
    used = {stack.names.get(k, k): v for k, v in result["used"].items()}
    return used.get(process, 0.0) / (count or result["requests"]) * 1e6


def sizing(one: dict) -> list[str]:
    """The rule, from one process's figures: what a core of telverify and Redis's one thread
    spend on a verification (its create, with its two delivery reports, and one check)."""
    app_us, redis_us = one["create_us"] + one["telverify_us"], one["create_redis_us"] + one["redis_us"]
    per_core, redis_ceiling = 1e6 / app_us, 1e6 / redis_us
    lines = [f"a verification (create, 2 delivery reports, 1 check): telverify {app_us:,.0f} us, Redis "
             f"{redis_us:,.0f} us; a core: {per_core:,.0f}/s at full load; Redis's thread: at most "
             f"{redis_ceiling:,.0f}/s"]
    for cores in CORES:
        planned = cores * per_core * HEADROOM
        redis_busy = planned * redis_us / 1e6
        verdict = "one Redis" if redis_busy <= HEADROOM else "beyond one Redis thread: a Redis Cluster"
        lines.append(f"{cores:>2} cores at {HEADROOM:.0%}: {planned:,.0f} verifications/s "
                     f"({planned * 86400 / 1e6:,.1f} million a day); Redis's thread {redis_busy:.0%} busy: {verdict}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="check runs per figure, each between two baselines")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wrk_priority(True)
    results = {}
    try:
        for transport in ("unix", "tcp"):
            for processes in (1, 2):
                print(f"measuring: {processes} process(es), Redis over {transport} ...", flush=True)
                results[transport, processes] = measure(processes, transport == "tcp", options.duration,
                                                        options.rounds, options.connections)
    except BenchError as exc:
        print(f"bench: the run failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nmachine: nproc={os.cpu_count()}; wrk, Redis and the stand-in share its cores with telverify.")
    ceiling = options.connections / TWILIO_DELAY
    print(f"check: VerificationCheck; create: a text to a new number, with its two delivery reports, each\n"
          f"waiting {TWILIO_DELAY * 1000:.0f} ms on the stand-in (so at most {ceiling:.0f} a second at "
          f"{options.connections} connections); us: CPU per check or per create, in telverify's\n"
          f"processes and in Redis")
    print(f"{'Redis':<6}{'processes':>10}{'baseline/s':>11}{'checks/s':>10}{'x base':>8}{'p99 ms':>8}"
          f"{'check us':>9}{'Redis us':>9}{'creates/s':>10}{'create us':>10}{'Redis us':>9}")
    for (transport, processes), r in results.items():
        print(f"{transport:<6}{processes:>10}{r['base']:>11.0f}{r['rps']:>10.0f}{r['ratio']:>8.2f}{r['p99']:>8.1f}"
              f"{r['telverify_us']:>9.0f}{r['redis_us']:>9.0f}{r['creates']:>10.0f}{r['create_us']:>10.0f}"
              f"{r['create_redis_us']:>9.0f}")
    for transport in ("unix", "tcp"):
        one, two = results[transport, 1], results[transport, 2]
        print(f"\n{transport}: 2 processes give {two['rps'] / one['rps']:.2f}x the checks of 1 "
              f"(the baseline: {two['base'] / one['base']:.2f}x)")
        for line in sizing(one):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
