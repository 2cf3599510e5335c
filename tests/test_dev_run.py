"""The README's run command, as a new user meets it: `./dev run` with nothing configured."""
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.support import MOBILE, ROOT, code_in, free_port, verify_client


def dev_run(state: Path) -> tuple[subprocess.Popen, str, int, int]:
    """`./dev run` with nothing configured and its state in `state`, once it says it is running:
    (its process, what it printed, telverify's port, the stand-in's port)."""
    port, standin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "API_", "SECRET_"))}
    env.update(PORT=str(port), STANDIN_PORT=str(standin_port), TELVERIFY_STATE_DIR=str(state))
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "run.log"
    process = subprocess.Popen([str(Path(ROOT) / "dev"), "run"], cwd=ROOT, env=env, stdout=log_path.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while "telverify is running" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "./dev run did not start in 120 s"
            time.sleep(0.2)
    except BaseException:
        stop(process)
        raise
    return process, log_path.read_text(), port, standin_port


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)


def test_dev_run_brings_up_a_working_service(tmp_path):
    # Generated secrets (secrets.token_urlsafe) start with "-" one time in 64: ./dev run must
    # take them as they come (the stand-in once refused such a token as a missing argument).
    for name in ("standin-auth-token", "dev-api-secret", "secret-key"):
        (tmp_path / name).write_text("-" + "x1Y_" * 10 + "\n")
    process, output, port, standin_port = dev_run(tmp_path)
    try:
        key, secret = re.search(r"API credentials:\s+(\S+) : (\S+)", output).groups()
        sdk = verify_client(f"http://127.0.0.1:{port}", key, secret)
        service = sdk.verify.v2.services.create(friendly_name="Acme")
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
        texts = requests.get(f"http://127.0.0.1:{standin_port}/_standin/messages", params={"to": MOBILE}).json()
        check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code_in(texts[0]))
        assert check.status == "approved"
        # The private Redis keeps its data in the state folder, and listens on a Unix socket there.
        assert f"private Redis on unix://{tmp_path}/redis/redis.sock?db=0" in output, output
        assert (tmp_path / "redis" / "redis.sock").is_socket()
        assert_workers_pinned(process.pid)
        assert_connections_shared(process.pid, port)
        # A worker that dies is replaced on the CPU it left (config/gunicorn.conf.py's pre_fork).
        first = gunicorn_workers(process.pid)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(set(gunicorn_workers(process.pid)) - set(first)) < 1:
            assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
            time.sleep(0.2)
        assert_workers_pinned(process.pid)
    finally:
        stop(process)


def test_dev_run_in_a_folder_too_deep_for_a_unix_socket_uses_tcp(tmp_path):
    """Linux refuses a Unix socket path over 107 bytes: then the private Redis listens on TCP."""
    state = tmp_path / ("deep-" * 20)
    process, output, port, _ = dev_run(state)
    try:
        assert re.search(r"private Redis on redis://127\.0\.0\.1:\d+/0", output), output
        assert not (state / "redis" / "redis.sock").exists()
        assert requests.get(f"http://127.0.0.1:{port}/healthz/ready", timeout=10).status_code == 200
    finally:
        stop(process)


def gunicorn_workers(session: int) -> list[int]:
    """The pids of the gunicorn workers in a process session: gunicorns whose parent is one."""
    processes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[3]) == session and b"gunicorn" in command and stat[0] != "Z":
            processes[int(pid)] = int(stat[1])
    return sorted(pid for pid, parent in processes.items() if parent in processes)


def assert_workers_pinned(session: int) -> None:
    """Each worker is pinned to one CPU, and the CPUs share the workers evenly."""
    cpus = sorted(os.sched_getaffinity(0))
    workers = gunicorn_workers(session)
    assert len(workers) == len(cpus)  # WEB_CONCURRENCY's default: one per core
    pinned = [os.sched_getaffinity(pid) for pid in workers]
    assert all(len(one) == 1 for one in pinned), pinned
    loads = [sum(cpu in one for one in pinned) for cpu in cpus]
    assert max(loads) - min(loads) <= 1, dict(zip(cpus, loads))


def assert_connections_shared(session: int, port: int, count: int = 16) -> None:
    """`count` kept-alive connections end up evenly on the workers (config/workers.py), not as
    the kernel or the first worker to wake would have it."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for connection in connections:
            assert b" 200 " in connection.recv(4096).split(b"\r\n", 1)[0]
        # The SDK's connection of the test above may be among them, kept alive.
        held = [len(established_sockets(pid, port)) for pid in gunicorn_workers(session)]
        assert count <= sum(held) <= count + 1 and max(held) - min(held) <= 1, held
    finally:
        for connection in connections:
            connection.close()


def established_sockets(pid: int, port: int) -> set[int]:
    """Inodes of the TCP connections to local `port` that process `pid` holds open."""
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                wanted.add(int(fields[9]))
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in wanted:
            held.add(int(target[8:-1]))
    return held
