"""The README's run command, as a new user meets it: `./dev run` with nothing configured."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from conftest import MOBILE, ROOT, code_in, free_port, verify_client


def test_dev_run_brings_up_a_working_service(tmp_path):
    port, standin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "API_", "SECRET_"))}
    env.update(PORT=str(port), STANDIN_PORT=str(standin_port), TELVERIFY_STATE_DIR=str(tmp_path))
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen([str(Path(ROOT) / "dev"), "run"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "telverify is running" not in (tmp_path / "run.log").read_text():
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, "./dev run did not start in 120 s"
            time.sleep(0.2)
        output = (tmp_path / "run.log").read_text()
        key, secret = re.search(r"API credentials:\s+(\S+) : (\S+)", output).groups()
        sdk = verify_client(f"http://127.0.0.1:{port}", key, secret)
        service = sdk.verify.v2.services.create(friendly_name="Acme")
        sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
        texts = requests.get(f"http://127.0.0.1:{standin_port}/_standin/messages", params={"to": MOBILE}).json()
        check = sdk.verify.v2.services(service.sid).verification_checks.create(to=MOBILE, code=code_in(texts[0]))
        assert check.status == "approved"
        assert (tmp_path / "redis").is_dir()  # the private Redis keeps its data in the state folder
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
