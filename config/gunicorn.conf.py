"""gunicorn settings for telverify (used by the Procfile and the benchmark).

Creating a verification waits on Twilio's REST API (typically 100-300 ms), so each
worker runs many threads: a request waiting on Twilio holds a thread, not a process.
"""
import gc
import ipaddress
import multiprocessing
import os
import shutil
import socket
import tempfile

# Every address of the host by default; BIND_HOST narrows it, to loopback or a private address
# that only the reverse proxies in front reach (docs/abuse-protection.md, "Behind a proxy").
bind_host = os.environ.get("BIND_HOST", "").strip() or "0.0.0.0"
port = os.environ.get("PORT", "8000")
bind = f"[{bind_host}]:{port}" if ":" in bind_host else f"{bind_host}:{port}"  # an IPv6 address in brackets
# gunicorn's gthread worker, sharing kept-alive connections evenly among the workers (see it).
worker_class = "config.workers.BalancedThreadWorker"
# One process per core, pinned to it (below), with 32 threads: a request waiting on Redis or
# Twilio holds a thread, and the process's other threads run meanwhile. No two processes trade
# one core under load, which keeps the tail latency low (docs/performance.md).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# config/__init__.py reads it the same way: at most TWILIO_THREADS_PER_WORKER of them (half by
# default) wait on Twilio at once, so that checks and webhooks always find a thread.
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# All workers accept from one socket, each only while it holds no more connections than the
# others (config/workers.py): a socket per worker (SO_REUSEPORT) leaves the split of kept-alive
# connections to the kernel's hash, which is often uneven.
reuse_port = False
# Twilio gives up on a webhook after 15 s; nothing we do should take longer.
timeout = 20
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines as the app's (verify/logs.py): one JSON object per line, the access
    # log's with the request's id. Its access log stays off unless GUNICORN_ACCESS_LOG is set.
    _json_out = {"formatter": "json", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    if accesslog and accesslog != "-":
        _json_access = {"formatter": "json", "class": "logging.FileHandler", "filename": accesslog}
    else:
        _json_access = {**_json_out, "stream": "ext://sys.stdout"}
    logconfig_dict = {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "verify.logs.JsonFormatter"}},
        "handlers": {"error": _json_out, "access": _json_access if accesslog else {"class": "logging.NullHandler"}},
        "loggers": {"gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
                    "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False}},
        "root": {"handlers": []},  # the app's own (verify/logs.py configure), in each worker
    }
# gunicorn's control socket is one fixed path per user: two instances (a benchmark beside a
# dev server, tests) would fight over it, and telverify has no use for it.
control_socket_disable = True


# Each worker is pinned to one CPU, the one with the fewest workers (GUNICORN_PIN_WORKERS=0: not
# pinned). A request hands the GIL between its worker's threads several times (the poller, the
# request's thread, the wake-up on Redis's reply); on one CPU that is a plain context switch, but
# when the kernel has spread the threads over CPUs a hand-over has to wake another CPU, which a
# virtual machine does through the hypervisor. Pinned, a check costs a third less CPU
# (docs/performance.md).
pin_workers = os.environ.get("GUNICORN_PIN_WORKERS", "1") != "0" and hasattr(os, "sched_setaffinity")


def _open_to_others(listener) -> bool:
    """Whether clients elsewhere can connect: an address of every interface, or one that is
    neither loopback nor private. A Unix socket is this host's."""
    if listener.sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    address = ipaddress.ip_address(listener.sock.getsockname()[0].partition("%")[0])
    return address.is_unspecified or not (address.is_loopback or address.is_private)


def on_starting(server):  # in the master, before it loads anything of the app or forks
    # /metrics adds up every worker's counts (verify/metrics.py): each worker writes its own into
    # PROMETHEUS_MULTIPROC_DIR, which must be set before prometheus_client is first imported, and
    # empty at start (what a previous run left would be added in). An operator's own directory
    # is emptied too; without one, a fresh one under the system's temporary directory, removed
    # at exit.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="telverify-metrics-")
        server.metrics_folder_made = folder
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def on_exit(server):  # in the master, as it exits
    made = getattr(server, "metrics_folder_made", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


def when_ready(server):  # in the master, once it listens
    # With TRUSTED_PROXIES, X-Forwarded-For names the client: one that reaches telverify around
    # the proxies writes it itself, and chooses the address its failed authentications count
    # against. A warning, not a refusal: a firewall may keep the port to the proxies.
    proxies = os.environ.get("TRUSTED_PROXIES", "").strip()
    if not (proxies.isdigit() and int(proxies) > 0):
        return
    exposed = [str(listener) for listener in server.LISTENERS if _open_to_others(listener)]
    if exposed:
        server.log.warning(
            "TRUSTED_PROXIES=%s, but telverify listens on %s, which clients may reach without passing the "
            "proxies, and write X-Forwarded-For themselves: set BIND_HOST to a loopback or private address "
            "only the proxies reach, or keep the port to them with a firewall (docs/abuse-protection.md, "
            "\"Behind a proxy\")", proxies, ", ".join(exposed))


def pre_fork(server, worker):  # in the master: choose, so a respawned worker refills the CPU it left
    from config.workers import ledger  # the worker class's module, loaded by the master already
    worker.slot = ledger.claim({getattr(w, "slot", -1) for w in server.WORKERS.values()})
    if pin_workers:
        cpus = sorted(os.sched_getaffinity(0))
        taken = [getattr(w, "cpu", None) for w in server.WORKERS.values()]
        worker.cpu = min(cpus, key=lambda cpu: (taken.count(cpu), cpu))


def post_fork(server, worker):
    if pin_workers and getattr(worker, "cpu", None) is not None:
        try:
            os.sched_setaffinity(0, {worker.cpu})
        except OSError as exc:  # the CPU was taken from us since the master looked: run unpinned
            server.log.warning("worker %s left unpinned: CPU %s: %s", os.getpid(), worker.cpu, exc)


def child_exit(server, worker):  # in the master: its connections are gone with it
    from config.workers import ledger
    ledger.leave(worker.slot)
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)  # its gauges go; its counts stay in the sums


def post_worker_init(worker):  # in the worker, once it has loaded the app
    # A full collection of Python's cyclic garbage collector scans every tracked object, and the
    # loaded app (Flask, twilio, redis, phonenumbers) is tens of thousands of them: a collection
    # takes tens of milliseconds, stopping all of the worker's threads (a spike in the tail
    # latency of whatever requests are in flight). What is loaded by now lives as long as the
    # worker: gc.freeze() moves it out of the collector's sight. The collector still runs for
    # everything the requests create.
    gc.collect()
    gc.freeze()
