"""How telverify scales with processes, and what that means for sizing a deployment.

For 1 and then 2 gunicorn processes (WEB_CONCURRENCY), each a fresh stack as bench/run.py
starts it, on Redis over a Unix socket and then over TCP: the trivial endpoint and
VerificationCheck, paired runs as the main benchmark takes them, with each process's CPU per
request. From the CPU per check it derives the sizing rule: a core of telverify answers about
1 / (its CPU per check) checks a second, and one Redis, which runs every script on one thread,
at most 1 / (Redis's CPU per check).

    .venv/bin/python bench/scaling.py [--duration 5] [--rounds 3] [--connections 16]
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import tempfile

from run import CHECK_BLOCK, MAX_CHECKS, baseline, create_pending, create_service, paired, verify_wrk
from services import BenchError, Stack, wrk_priority

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
            per = {stack.names.get(k, k): v / check["requests"] * 1e6 for k, v in check["used"].items()}
            return {"base": check["base"], "rps": check["rps"], "ratio": check["ratio"], "p99": check["worst_p99"],
                    "telverify_us": per.get("gunicorn", 0.0), "redis_us": per.get("redis", 0.0)}
        finally:
            stack.close()


def sizing(one: dict) -> list[str]:
    """The rule, from one process's figures: its CPU per check is what a core of telverify costs."""
    per_core = 1e6 / one["telverify_us"]
    redis_ceiling = 1e6 / one["redis_us"]
    lines = [f"a core of telverify: {per_core:,.0f} checks/s at full load, plan {per_core * HEADROOM:,.0f}; "
             f"one Redis thread: at most {redis_ceiling:,.0f} checks/s, plan {redis_ceiling * HEADROOM:,.0f}"]
    for cores in CORES:
        planned = cores * per_core * HEADROOM
        redis_busy = planned * one["redis_us"] / 1e6
        verdict = "one Redis" if redis_busy <= HEADROOM else "more than one Redis thread: a Redis Cluster"
        lines.append(f"{cores:>2} cores: plan {planned:,.0f} checks/s; Redis's thread {redis_busy:.0%} busy: {verdict}")
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
    print(f"{'Redis':<6}{'processes':>10}{'baseline/s':>11}{'checks/s':>10}{'x base':>8}{'p99 ms':>8}"
          f"{'telverify us':>13}{'Redis us':>9}")
    for (transport, processes), r in results.items():
        print(f"{transport:<6}{processes:>10}{r['base']:>11.0f}{r['rps']:>10.0f}{r['ratio']:>8.2f}{r['p99']:>8.1f}"
              f"{r['telverify_us']:>13.0f}{r['redis_us']:>9.0f}")
    for transport in ("unix", "tcp"):
        one, two = results[transport, 1], results[transport, 2]
        print(f"\n{transport}: 2 processes give {two['rps'] / one['rps']:.2f}x the checks of 1")
        for line in sizing(one):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
