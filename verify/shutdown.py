"""Whether this process is shutting down. A gunicorn worker told to stop (SIGTERM) first drains
for SHUTDOWN_DRAIN_SECONDS (config/workers.py): readiness then answers 503 while every request
is still served, so that a load balancer stops sending new ones before the worker stops taking
them; then it finishes what it holds and exits."""
import threading

draining = threading.Event()
