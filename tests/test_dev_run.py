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


def dev_env(state: Path, **settings: str) -> dict:
    """The environment of a user who configured nothing, with local data in `state` and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "API_", "SECRET_"))}
    # The Entra stand-in's port too: never its default, which a developer's own ./dev run may hold.
    env.update(TELVERIFY_STATE_DIR=str(state), ENTRA_STANDIN_PORT=str(free_port()), **settings)
    return env


def launch(state: Path, **settings: str) -> tuple[subprocess.Popen, Path]:
    """`./dev run` in a session of its own (as a terminal would give it), printing to a log file
    in `state`: (its process, the log). The session holds every process it starts."""
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / f"run-{time.monotonic_ns()}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(Path(ROOT) / "dev"), "run"], cwd=ROOT, env=dev_env(state, **settings),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = log_path
    return process, log_path


def dev_run(state: Path, **settings: str) -> tuple[subprocess.Popen, str, int, int]:
    """`./dev run` with nothing configured and its state in `state`, once it says it is running:
    (its process, what it printed, telverify's port, the stand-in's port)."""
    port, standin_port = free_port(), free_port()
    process, log_path = launch(state, PORT=str(port), STANDIN_PORT=str(standin_port), **settings)
    deadline = time.monotonic() + 120
    try:
        while "telverify is running" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "./dev run did not start in 120 s"
            time.sleep(0.2)
    except BaseException:
        kill_session(process)
        raise
    return process, log_path.read_text(), port, standin_port


def printed(process: subprocess.Popen, pattern: str, seconds: float = 30) -> re.Match:
    """The first match of `pattern` in what ./dev run has printed, once it has printed it."""
    deadline = time.monotonic() + seconds
    while (found := re.search(pattern, process.log_path.read_text())) is None:
        assert time.monotonic() < deadline, f"./dev run did not print {pattern!r} in {seconds} s"
        time.sleep(0.2)
    return found


def dev_run_fails(state: Path, **settings: str) -> tuple[int, str, list[bytes]]:
    """`./dev run` that is expected to give up: (its exit status, what it printed, the command
    lines of the processes it left running, which are then stopped)."""
    process, log_path = launch(state, **settings)
    try:
        status = process.wait(120)
        left = session_processes(process.pid)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"./dev run went on running:\n{log_path.read_text()}") from None
    finally:
        kill_session(process)
    return status, log_path.read_text(), [command.replace(b"\0", b" ") for command in left.values()]


def stop(process: subprocess.Popen, signal_number: int = signal.SIGTERM, whole_session: bool = False) -> int:
    """Stop `./dev run` as a supervisor does (a signal to it alone) or as Ctrl-C does (to every
    process of the terminal's session); its exit status, once it has stopped everything it started."""
    if whole_session:
        os.killpg(process.pid, signal_number)
    else:
        os.kill(process.pid, signal_number)
    status = process.wait(60)
    assert_nothing_left(process)
    return status


def kill_session(process: subprocess.Popen) -> None:
    """Whatever is left of the run (a failed test must not leave servers behind)."""
    for pid in session_processes(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it exited meanwhile
            pass
    if process.poll() is None:
        process.kill()
        process.wait(10)


def session_processes(session: int) -> dict[int, bytes]:
    """The live processes of a session (zombies left out), with their command lines."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[3]) == session and stat[0] != "Z":
            found[int(pid)] = command
    return found


def assert_nothing_left(process: subprocess.Popen) -> None:
    """`./dev run` has exited and no process it started runs on: its session is empty (a
    redis-server or gunicorn left behind would be there, with no parent)."""
    assert process.poll() is not None
    left = session_processes(process.pid)
    assert not left, [command.replace(b"\0", b" ") for command in left.values()]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except ConnectionRefusedError:
        return False


def test_dev_run_brings_up_a_working_service(tmp_path):
    # Generated secrets (secrets.token_urlsafe) start with "-" one time in 64: ./dev run must
    # take them as they come, and a value that looks like an option is the one that breaks a
    # command line.
    for name in ("standin-auth-token", "dev-api-secret", "dev-admin-secret", "secret-key"):
        (tmp_path / name).write_text("-" + "x1Y_" * 10 + "\n")
    process, output, port, standin_port = dev_run(tmp_path)
    try:
        assert "\033[" not in output  # printed to a file: no terminal escape codes
        key, secret, account = re.search(r"API credentials:\s+(\S+) : (\S+)\s+\(account (AC[0-9a-f]{32})\)",
                                         output).groups()
        sdk = verify_client(f"http://127.0.0.1:{port}", key, secret)
        service = sdk.verify.v2.services.create(friendly_name="Acme")
        assert service.account_sid == account
        admin_id, admin_secret = re.search(r"Admin credentials:\s+(\S+) : (\S+)", output).groups()
        accounts = requests.get(f"http://127.0.0.1:{port}/admin/Accounts", auth=(admin_id, admin_secret), timeout=10)
        assert [a["sid"] for a in accounts.json()["accounts"]] == [account]
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
        # The text, read as the printed example says.
        # (printed after "telverify is running", by a second write: waited for, not read from `output`)
        texts_url = printed(process, r"(?m)^  curl -s '(\S+/_standin/messages\?to=%2B447400123456)'$").group(1)
        assert texts_url.startswith(f"http://127.0.0.1:{standin_port}/")
        texts = requests.get(texts_url, timeout=10).json()
        check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code_in(texts[0]))
        assert check.status == "approved"
        # /my/ is on, and the demo person it prints (after the lines above) signs in there.
        my_url, name, password = printed(process, r"My sign-ins:\s+(\S+)\s+\(a person's Security info: sign in "
                                                  r"with the name\s+(\S+) and the password (\S+),").groups()
        browser = requests.Session()
        form = browser.get(f"{my_url}signin", timeout=10).text
        home = browser.post(f"{my_url}signin", timeout=10, data={
            "token": re.search(r'name="token" value="([^"]+)"', form).group(1), "identity": name,
            "password": password})
        assert home.url == my_url and "More information required" in home.text
        # The private Redis keeps its data in the state folder, and listens on a Unix socket there.
        assert f"private Redis on unix://{tmp_path}/redis/redis.sock?db=0" in output, output
        assert (tmp_path / "redis" / "redis.sock").is_socket()
        assert_no_secret_on_a_command_line(process.pid, (tmp_path / "standin-auth-token").read_text().strip())
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
        # A supervisor's SIGTERM to ./dev run alone stops everything it started.
        assert stop(process) == 128 + signal.SIGTERM
        assert not listening(port) and not listening(standin_port)
    finally:
        kill_session(process)


def assert_no_secret_on_a_command_line(session: int, token: str) -> None:
    """The stand-in's auth token is on no command line of the run, which every user of the
    machine can read (ps); the stand-in gets it by environment."""
    processes = session_processes(session)
    standins = [pid for pid, command in processes.items() if b"twilio_standin" in command]
    assert len(standins) == 1, processes
    assert token.encode() not in Path(f"/proc/{standins[0]}/cmdline").read_bytes()
    assert not [command for command in processes.values() if token.encode() in command]


def test_dev_run_in_a_folder_too_deep_for_a_unix_socket_uses_tcp(tmp_path):
    """Linux refuses a Unix socket path over 107 bytes: then the private Redis listens on TCP."""
    state = tmp_path / ("deep-" * 20)
    process, output, port, _ = dev_run(state)
    try:
        redis_port = int(re.search(r"private Redis on redis://127\.0\.0\.1:(\d+)/0", output).group(1))
        assert not (state / "redis" / "redis.sock").exists()
        assert requests.get(f"http://127.0.0.1:{port}/healthz/ready", timeout=10).status_code == 200
        assert listening(redis_port)
        # Ctrl-C in the terminal: SIGINT to every process of the session.
        assert stop(process, signal.SIGINT, whole_session=True) == 128 + signal.SIGINT
        assert not listening(redis_port) and not listening(port)
    finally:
        kill_session(process)


def test_a_second_run_whose_ports_are_taken_starts_nothing(tmp_path):
    """A second `./dev run` beside a first one: every port it would use is checked before
    anything starts, so it says which variable to set and leaves nothing running; the first
    run goes on undisturbed, also when the second one is given the first one's state folder."""
    first, _, port, standin_port = dev_run(tmp_path / "first")
    try:
        # The stand-in's port taken (the newcomer's case), then telverify's.
        second_port = free_port()
        status, output, left = dev_run_fails(tmp_path / "second", PORT=str(second_port),
                                             STANDIN_PORT=str(standin_port))
        assert_refused(status, output, "STANDIN_PORT", standin_port)
        assert not left, left
        assert not listening(second_port)
        status, output, left = dev_run_fails(tmp_path / "second", PORT=str(port), STANDIN_PORT=str(free_port()))
        assert_refused(status, output, "PORT", port)
        assert not left, left
        # The first run's state folder: its Redis socket and data are the first run's.
        status, output, left = dev_run_fails(tmp_path / "first", PORT=str(free_port()),
                                             STANDIN_PORT=str(free_port()))
        assert status == 1 and "another ./dev run" in output and "TELVERIFY_STATE_DIR" in output, output
        assert not left, left
        assert requests.get(f"http://127.0.0.1:{port}/healthz/ready", timeout=10).status_code == 200
        assert requests.get(f"http://127.0.0.1:{standin_port}/_standin/health", timeout=10).json()["pid"] in \
            session_processes(first.pid)
        assert stop(first) == 128 + signal.SIGTERM
    finally:
        kill_session(first)


def assert_refused(status: int, output: str, variable: str, port: int) -> None:
    assert status == 1, output
    assert f"port {port} ({variable}, " in output and f"set {variable} to a free port" in output, output
    assert "private Redis" not in output and "telverify is running" not in output, output
    assert "\033[" not in output


def test_a_part_that_fails_to_start_stops_the_parts_started_before_it(tmp_path):
    """gunicorn cannot start (a WEB_CONCURRENCY that is not a number) after Redis and the
    stand-in have: ./dev run stops them and exits non-zero."""
    port, standin_port = free_port(), free_port()
    status, output, left = dev_run_fails(tmp_path, PORT=str(port), STANDIN_PORT=str(standin_port),
                                         WEB_CONCURRENCY="many")
    assert status == 1, output
    assert "private Redis on" in output and "using the local Twilio stand-in" in output, output
    assert "gunicorn exited while starting" in output and "telverify is running" not in output, output
    assert not left, left
    assert not listening(port) and not listening(standin_port)


def test_a_part_that_stops_while_running_stops_the_run(tmp_path):
    """The private Redis dies under a running ./dev run: the run is broken, so it stops the
    rest and exits non-zero rather than serve errors."""
    process, _, port, standin_port = dev_run(tmp_path)
    try:
        redis = [pid for pid, command in session_processes(process.pid).items() if command.startswith(b"redis-server")]
        assert len(redis) == 1
        os.kill(redis[0], signal.SIGKILL)
        assert process.wait(60) == 1
        assert_nothing_left(process)
        assert "redis-server stopped" in process.log_path.read_text()
    finally:
        kill_session(process)
    assert not listening(port) and not listening(standin_port)


def gunicorn_workers(session: int) -> list[int]:
    """The pids of the gunicorn workers in a process session: gunicorns whose parent is one."""
    processes = {}
    for pid, command in session_processes(session).items():
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if b"gunicorn" in command:
            processes[pid] = parent
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
    the kernel or the first worker to wake would have it. The service answers as soon as one
    worker has loaded the app; on a busy machine the other may take seconds more, and until it
    serves, the first rightly takes every connection: so the split is tried again (fresh
    connections) until it is even, for up to 60 s."""
    deadline = time.monotonic() + 60
    while True:
        held = connections_held(session, port, count)
        if count <= sum(held) <= count + 1 and max(held) - min(held) <= 1:
            return
        assert time.monotonic() < deadline, held
        time.sleep(1)


def connections_held(session: int, port: int, count: int) -> list[int]:
    """How many of `count` new kept-alive connections (and any kept alive already) each gunicorn
    worker holds once each has been answered."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for connection in connections:
            assert b" 200 " in connection.recv(4096).split(b"\r\n", 1)[0]
        # The SDK's connection of the test above may be among them, kept alive.
        return [len(established_sockets(pid, port)) for pid in gunicorn_workers(session)]
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
