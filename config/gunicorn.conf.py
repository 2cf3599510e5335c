"""gunicorn settings for telverify (used by the Procfile and the benchmark).

Creating a verification waits on Twilio's REST API (typically 100-300 ms), so each
worker runs many threads: a request waiting on Twilio holds a thread, not a process.
"""
import gc
import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# gunicorn's gthread worker, sharing kept-alive connections evenly among the workers (see it).
worker_class = "config.workers.BalancedThreadWorker"
# One process per core, pinned to it (below), with 32 threads: a request waiting on Redis or
# Twilio holds a thread, and the process's other threads run meanwhile. No two processes trade
# one core under load, which keeps the tail latency low (docs/performance.md).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
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


def post_worker_init(worker):  # in the worker, once it has loaded the app
    # A full collection of Python's cyclic garbage collector scans every tracked object, and the
    # loaded app (Flask, twilio, redis, phonenumbers) is tens of thousands of them: a collection
    # takes tens of milliseconds, stopping all of the worker's threads (a spike in the tail
    # latency of whatever requests are in flight). What is loaded by now lives as long as the
    # worker: gc.freeze() moves it out of the collector's sight. The collector still runs for
    # everything the requests create.
    gc.collect()
    gc.freeze()
