"""gunicorn settings for telverify (used by the Procfile and the benchmark).

Creating a verification waits on Twilio's REST API (typically 100-300 ms), so each
worker runs many threads: a request waiting on Twilio holds a thread, not a process.
"""
import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# Two processes per core: each request waits on Redis with the GIL released, and a second
# process per core keeps the core busy meanwhile (measured: webhooks +20-38% over one per
# core with the same 64 threads in all). 16 threads each absorb the waits on Twilio.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Each worker listens on its own SO_REUSEPORT socket, and the kernel spreads new connections
# evenly over them. On one shared socket, whichever worker wakes first accepts a burst of
# connections and keeps them (keep-alive): seen in the benchmark as 14 of 16 connections on one
# worker, so one core did the work of two (VerificationCheck 2,300/s, creates at 64 connections
# 85/s; with this: 3,100/s and 260/s). Linux lets only the same user share the port.
reuse_port = True
# Twilio gives up on a webhook after 15 s; nothing we do should take longer.
timeout = 20
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# gunicorn's control socket is one fixed path per user: two instances (a benchmark beside a
# dev server, tests) would fight over it, and telverify has no use for it.
control_socket_disable = True
