"""The SMS flow as a Node application sees it: the official `twilio` npm package (pinned in
package.json, installed by `./dev test`'s `npm ci`) with a RequestClient subclass that sends its
requests to telverify. tests/node/verify_flow.js does the Node side; this test feeds it the code
the stand-in received and checks what it reports, and what telverify itself holds afterwards."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading

import pytest

from tests.support import APP_ACCOUNT_SID, KEY_SECRET, KEY_SID, MOBILE, ROOT, code_in

SCRIPT = ROOT / "tests" / "node" / "verify_flow.js"
TWILIO_PACKAGE = ROOT / "node_modules" / "twilio" / "package.json"
STEP_SECONDS = 60  # generous: the machine is shared, and one step waits for node's start and twilio's import


class NodeFlow:
    """verify_flow.js running under node, read one JSON line (one step) at a time."""

    def __init__(self, node: str, env: dict):
        self.process = subprocess.Popen([node, str(SCRIPT)], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        # Pipes are drained by threads: a blocking readline could hang the test on a stuck script,
        # and an unread stderr could fill up and stall it.
        self.pumps = [threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put), daemon=True),
                      threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr.append), daemon=True)]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink(line)
        sink(None)

    def step(self, name: str) -> dict:
        try:
            line = self.lines.get(timeout=STEP_SECONDS)
        except queue.Empty:
            pytest.fail(f"verify_flow.js printed no {name!r} step within {STEP_SECONDS} s; "
                        f"stderr: {self.error_output()}")
        if line is None:
            pytest.fail(f"verify_flow.js ended (status {self._ended()}) before its {name!r} step; "
                        f"stderr: {self.error_output()}")
        result = json.loads(line)
        assert result.pop("step") == name, result
        return result

    def send(self, text: str) -> None:
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def finish(self) -> int:
        """Close stdin (no more codes), then wait for the script's exit status."""
        self.process.stdin.close()
        return self._ended()

    def _ended(self) -> int:
        """The exit status, once the pipes are read to their end (all of stderr is in)."""
        status = self.process.wait(STEP_SECONDS)
        for pump in self.pumps:
            pump.join(STEP_SECONDS)
        return status

    def error_output(self) -> str:
        return "".join(line for line in self.stderr if line is not None)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STEP_SECONDS)


@pytest.fixture
def node_flow(live):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (./dev test installs nodejs and npm)")
    # `./dev test` runs `npm ci`, which installs twilio beside Prism: its absence is a broken set-up.
    assert TWILIO_PACKAGE.is_file(), "node_modules/twilio is missing: run ./dev test (npm ci) first"
    env = {
        **os.environ,
        "TELVERIFY_URL": live.url,
        # An API key (SK...) of the account, beside its AC sid: the form twilio-node takes.
        "TELVERIFY_API_KEY": KEY_SID,
        "TELVERIFY_API_SECRET": KEY_SECRET,
        "TELVERIFY_ACCOUNT_SID": APP_ACCOUNT_SID,
        "TELVERIFY_TO": MOBILE,
    }
    flow = NodeFlow(node, env)
    yield flow
    flow.kill()


def test_node_sdk_sends_and_approves_a_code(node_flow, standin, sdk):
    service = node_flow.step("service")
    assert service["sid"].startswith("VA") and len(service["sid"]) == 34
    assert service["friendlyName"] == "Acme"
    assert service["accountSid"] == APP_ACCOUNT_SID

    verification = node_flow.step("verification")
    assert verification["sid"].startswith("VE") and len(verification["sid"]) == 34
    assert (verification["status"], verification["channel"], verification["to"]) == ("pending", "sms", MOBILE)
    assert verification["sendCodeAttempts"] == 1

    # The text really went out through telverify's carrier, to the stand-in.
    message = standin.wait_for_message(MOBILE, timeout=STEP_SECONDS)
    code = code_in(message)
    assert message["body"] == f"Your Acme verification code is: {code}"
    node_flow.send(code)

    wrong = node_flow.step("wrong_code")
    assert (wrong["status"], wrong["valid"], wrong["sid"]) == ("pending", False, verification["sid"])

    check = node_flow.step("check")
    assert (check["status"], check["valid"], check["sid"]) == ("approved", True, verification["sid"])

    unknown = node_flow.step("unknown_service")
    assert (unknown["error"], unknown["status"], unknown["code"]) == ("RestException", 404, 20404)

    assert node_flow.finish() == 0, node_flow.error_output()

    # What Node created lives in telverify: the Python SDK, with another credential of the same
    # account, sees the same service, approved.
    assert sdk.verify.v2.services(service["sid"]).fetch().friendly_name == "Acme"
    fetched = sdk.verify.v2.services(service["sid"]).verifications(verification["sid"]).fetch()
    assert fetched.status == "approved"
    assert len(standin.messages(MOBILE)) == 1


def test_node_script_fails_when_no_code_arrives(node_flow, standin):
    """stdin closing before a code arrives ends the script with an error, not a hang or a pass."""
    node_flow.step("service")
    node_flow.step("verification")
    standin.wait_for_message(MOBILE, timeout=STEP_SECONDS)
    assert node_flow.finish() == 1
    assert "stdin closed before a code arrived" in node_flow.error_output()
