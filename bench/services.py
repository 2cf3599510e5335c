"""Processes for the benchmark: redis-server, the Twilio stand-in, telverify under gunicorn,
and wrk. Each runs in its own session (process group), so teardown can kill a process with
all its children (gunicorn's workers) and a Ctrl-C in the terminal reaches only us."""
from __future__ import annotations

import os
import re
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import redis as redis_client
import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:  # telverify's own packages (the Entra stand-in, the app): after bench's own
    sys.path.append(str(ROOT))
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
API_KEY, API_SECRET = "bench", "bench-secret-0123456789"
TWILIO_DELAY = 0.15  # seconds the stand-in takes to answer a Messages create, like Twilio


class BenchError(Exception):
    """The run itself failed (not a missed target)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The three services, started in a temporary folder and torn down by close()."""

    def __init__(self, folder: str, redis_tcp: bool = False):
        self.folder = Path(folder)
        self.redis_tcp = redis_tcp  # else a Unix socket, as ./dev run's private Redis
        self._exit = ExitStack()
        self.redis_url = self.standin_url = self.web_url = ""
        self.eam_service = ""  # the service holding the Entra tenant's people (bench/eam.py)
        self.microsoft = None  # the Entra stand-in playing Microsoft, in this process
        self.sessions: list[int] = []  # process group / session ids, for CpuMeter
        self.names: dict[int, str] = {}  # session id -> the name it was spawned under

    def _spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        # Output goes to a file, not a pipe: a pipe nobody reads blocks a chatty process.
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (open while the process runs)
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self._exit.callback(log.close)
        self._exit.callback(stop_group, process)
        self.sessions.append(process.pid)
        self.names[process.pid] = name
        return process

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _wait(self, name: str, process: subprocess.Popen, url: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise BenchError(f"{name} did not answer 200 at {url} within {seconds:.0f} s:\n{self.log_tail(name)}")

    def start(self) -> Stack:
        standin_port, web_port = free_port(), free_port()
        if self.redis_tcp:
            redis_port = free_port()
            listen = ["--port", str(redis_port), "--bind", "127.0.0.1"]
            self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        else:
            listen = ["--port", "0", "--unixsocket", str(self.folder / "redis.sock"), "--unixsocketperm", "700"]
            self.redis_url = f"unix://{self.folder / 'redis.sock'}?db=0"
        redis = self._spawn("redis", ["redis-server", *listen, "--dir", str(self.folder), "--save", "",
                                      "--appendonly", "no"])

        standin = self._spawn("standin", [sys.executable, "-m", "twilio_standin", "--host", "127.0.0.1",
                                          "--port", str(standin_port), "--account-sid", ACCOUNT_SID,
                                          "--auth-token", AUTH_TOKEN, "--send-delay", str(TWILIO_DELAY),
                                          "--quiet"])
        self.standin_url = f"http://127.0.0.1:{standin_port}"

        self.web_url = f"http://127.0.0.1:{web_port}"
        self._wait_redis(redis)
        self._start_eam()

        # Exactly the Procfile's command, with the environment an operator would set.
        env = dict(os.environ, PORT=str(web_port), **self.telverify_settings())
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the venv's gunicorn
        web_command = (ROOT / "Procfile").read_text().split("web:", 1)[1].splitlines()[0].split()
        web = self._spawn("gunicorn", web_command, env)

        self._wait("stand-in", standin, f"{self.standin_url}/_standin/health")
        self._wait("gunicorn", web, f"{self.web_url}/healthz/ready", seconds=60)
        return self

    def _start_eam(self) -> None:
        """Entra External MFA's side of the stack (bench/eam.py): "Microsoft" in a thread of this
        process, and the tenant's service, made before telverify starts (EAM_TENANTS names it) by
        telverify's own operation, as ./dev run makes its own."""
        import eam

        from app import create_app
        from verify.core import Core
        from verify.model import SERVICE_DEFAULTS

        self.microsoft = eam.microsoft(f"{self.web_url}/.well-known/openid-configuration")
        self._exit.callback(self.microsoft.stop)
        settings = self.telverify_settings()
        telverify = Core.of(create_app({**settings, "LOG_LEVEL": "ERROR"}))  # its warnings are gunicorn's to log
        self.eam_service = telverify.services.create(telverify.settings.first_account_sid,
                                                     {**SERVICE_DEFAULTS, "friendly_name": "Contoso"})["sid"]

    def telverify_settings(self) -> dict[str, str]:
        """telverify's configuration for this stack, as environment variables. Every protection
        stays on and is counted; only the two limits that a benchmark's single prefix and volume
        would trip are raised out of the way (a number's own limits apply as in production).
        Entra External MFA is on once its tenant's service exists, with "Microsoft" the stand-in."""
        settings = {"REDIS_URL": self.redis_url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                    "TWILIO_FROM_NUMBER": "+15017122661", "TWILIO_API_BASE_URL": self.standin_url,
                    "PUBLIC_BASE_URL": self.web_url, "API_CREDENTIALS": f"{API_KEY}:{API_SECRET}",
                    "SECRET_KEY": "bench-secret-key-" + "0123456789" * 4, "LOG_LEVEL": "WARNING",
                    "LIMIT_SENDS_PER_PREFIX": "10000000 per hour", "LIMIT_SENDS_PER_SERVICE": "10000000 per day"}
        if self.eam_service:
            import eam
            settings.update(EAM_CLIENT_ID=eam.CLIENT_ID, EAM_TENANTS=f"{eam.TENANT}={self.eam_service}",
                            EAM_MICROSOFT_DISCOVERY_URL=self.microsoft.discovery_url)
        return settings

    def _wait_redis(self, process: subprocess.Popen) -> None:
        client = redis_client.Redis.from_url(self.redis_url)
        for _ in range(100):
            if process.poll() is not None:
                raise BenchError(f"redis-server exited:\n{self.log_tail('redis')}")
            try:
                client.ping()
                return
            except redis_client.ConnectionError:
                time.sleep(0.05)
        raise BenchError("redis-server did not start")

    def close(self) -> None:
        self._exit.close()

    def gunicorn_settings(self) -> dict:
        """What config/gunicorn.conf.py resolves to here (it reads cpu_count and the environment)."""
        conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
        return {k: conf[k] for k in ("worker_class", "workers", "threads", "keepalive")}


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


class CpuMeter:
    """CPU used on the whole machine during a scenario, and how much of it was not ours
    (not the processes we started, nor wrk): on a shared machine, other work lowers the
    figures, and the report should say so. Linux /proc; elsewhere it reports nothing."""

    def __init__(self, sessions: list[int]):
        self.sessions = set(sessions)  # every process we start leads its own session
        self.start = self._sample()

    def _sample(self) -> tuple[int, int, dict] | None:
        """(busy ticks, all ticks, {session: ticks of its processes}, wrk's ticks under "children")."""
        try:
            with open("/proc/stat") as stat:
                fields = [int(x) for x in stat.readline().split()[1:9]]
            ours = dict.fromkeys(self.sessions, 0)
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as stat:
                        after_name = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # exited meanwhile
                if int(after_name[3]) in self.sessions:
                    ours[int(after_name[3])] += int(after_name[11]) + int(after_name[12])  # utime + stime
        except (OSError, ValueError):
            return None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        ours["children"] = (children.ru_utime + children.ru_stime) * os.sysconf("SC_CLK_TCK")
        busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
        return busy, sum(fields), ours

    def stop(self) -> tuple[float | None, float | None, dict]:
        """(share of all cores busy, share busy with other work, {session or "children": CPU
        seconds}) since the meter started."""
        end = self._sample()
        if self.start is None or end is None or end[1] == self.start[1]:
            return None, None, {}
        total = end[1] - self.start[1]
        busy = (end[0] - self.start[0]) / total
        used = {key: (end[2][key] - self.start[2].get(key, 0)) / os.sysconf("SC_CLK_TCK") for key in end[2]}
        return busy, max(0.0, busy - sum(used.values()) * os.sysconf("SC_CLK_TCK") / total), used


def connections_by_process(port: int) -> list[int] | None:
    """How many established connections to `port` each process holds (busiest first), from
    `ss`; None without it. wrk's keep-alive connections stay with the gunicorn worker that
    accepted them for the whole run, and all of them landing on one worker halves the
    throughput of a 2-worker server: this says whether that happened."""
    if shutil.which("ss") is None:
        return None
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout
    return sorted(Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_wrk_prefix: list[str] = []  # set by wrk_priority


def wrk_priority(realtime: bool) -> str:
    """Run wrk at real-time priority (SCHED_FIFO, `chrt -f 1`) where this user may, and say how
    wrk runs. wrk shares the two cores with the server it measures. At normal priority a
    response can wait in wrk's socket while both cores run gunicorn, and that wait is counted as
    the server's latency: seen in 8 interleaved runs of each, the trivial endpoint's p99 was
    12-54 ms (median 23) at normal priority, 12-30 ms (median 13) at real time, and the ratios of
    checks and webhooks to it did not move beyond their usual spread. A client on another
    machine does not wait for the server's cores; wrk at real time comes closest to that. wrk
    blocks while all its requests are out, so it cannot starve the server."""
    _wrk_prefix.clear()
    if not realtime:
        return "normal priority"
    if shutil.which("chrt") and subprocess.run(["chrt", "-f", "1", "true"], capture_output=True).returncode == 0:
        _wrk_prefix.extend(["chrt", "-f", "1"])
        return "real-time priority (chrt -f 1)"
    return "normal priority (real time is not permitted here: p99 includes wrk's own waits for a core)"


def run_wrk(url: str, connections: int, duration: int, sessions: list[int], script: str | None = None,
            threads: int = 2, **lua_env) -> dict:
    """Run wrk in its own process group and parse its report (latencies in ms)."""
    args = [*_wrk_prefix, "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(BENCH / "lua" / script)]
    env = dict(os.environ, BENCH_THREADS=str(threads), BENCH_LUA=str(BENCH / "lua"),
               **{f"BENCH_{k.upper()}": str(v) for k, v in lua_env.items()})
    process = subprocess.Popen(args + [url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    meter = CpuMeter([*sessions, process.pid])
    spread: list = []
    probe = threading.Timer(duration / 2, lambda: spread.append(connections_by_process(urlsplit(url).port)))
    probe.start()
    try:
        out, err = process.communicate(timeout=duration + 60)
    finally:
        probe.cancel()
        stop_group(process)
    cpu, other_cpu, used = meter.stop()
    if process.returncode != 0 or "Requests/sec" not in out:
        raise BenchError(f"wrk failed ({process.returncode}): {err or out}")

    def latency(percent: int) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE).groups()
        return float(value) * _UNITS[unit]

    def number(pattern: str) -> int:
        match = re.search(pattern, out)
        return int(match.group(1)) if match else 0

    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": number(r"(\d+) requests in"), "p50": latency(50), "p99": latency(99),
            "non_2xx": number(r"Non-2xx or 3xx responses: (\d+)"),
            "statuses": {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", out, re.MULTILINE)},
            "socket_errors": socket_errors.group(1) if socket_errors else "", "cpu": cpu,
            # CPU seconds by process group, wrk's (it has exited: counted as our child) apart
            "used": {**{k: v for k, v in used.items() if k in sessions}, "wrk": used.get(process.pid, 0.0)
                     + used.get("children", 0.0)},
            "other_cpu": other_cpu, "spread": spread[0] if spread else None}
