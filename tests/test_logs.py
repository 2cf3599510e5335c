"""Log lines: JSON or plain (LOG_FORMAT), each with the id of its request, the same id from the
API call that starts a verification through its webhooks and delivery reports."""
from __future__ import annotations

import io
import json
import logging
import re
import time

from tests.support import MOBILE, Gunicorn, code_in, make_env, start_over_http
from verify import logs


def test_json_logs_follow_a_verification_by_the_id_of_the_call_that_started_it(tmp_path, redis_url, standin):
    standin.add_fault(to=MOBILE, delivery="undelivered", error_code=30003)
    env = lambda url: make_env(redis_url, standin.base_url, url, LOG_FORMAT="json",  # noqa: E731
                               GUNICORN_ACCESS_LOG="-")
    with Gunicorn(tmp_path, env) as server:
        service, started = start_over_http(server.url, "sms")
        request_id = started.headers["X-Request-Id"]
        message = standin.wait_for_message(MOBILE)
        standin.wait_for_callbacks(message["sid"], 2)
        deadline = time.monotonic() + 10
        while "undelivered" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = server.log()
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one object
    assert {"gunicorn.error", "gunicorn.access", "telverify.verify"} <= {e["logger"] for e in entries}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"]) for e in entries)
    followed = [e for e in entries if e["request_id"] == request_id]
    # The start (its log line and its access line), then Twilio's delivery reports, which carry
    # the id in the URL telverify gave Twilio, and the warning about the one that failed.
    assert any("sent" in e.get("message", "") for e in followed)
    assert any(e.get("path") == f"/v2/Services/{service}/Verifications" and e["status"] == "201" for e in followed)
    reports = [e for e in followed if e.get("path") == "/sms/status"]
    assert len(reports) == 2 and {e["status"] for e in reports} == {"204"}
    assert any(e["level"] == "WARNING" and "undelivered" in e.get("message", "") for e in followed)
    assert MOBILE not in text and MOBILE[1:] not in text
    assert not re.search(rf"\b{code_in(message)}\b", text)


def test_plain_lines_name_their_request_and_only_a_trusted_proxy_names_it(app):
    stream = io.StringIO()
    out = logs.handler("plain")
    out.setStream(stream)
    logger = logging.getLogger("telverify.test-plain")
    logger.addHandler(out)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        said = []
        for trusted, given in ((False, "proxy-given-0001"), (True, "proxy-given-0002"), (True, "bad id; x=y")):
            with app.test_request_context("/v2/Services", headers={"X-Request-Id": given}) as context:
                environ = context.request.environ
                said.append(environ.setdefault(logs.ENVIRON_KEY, logs.request_id_of(environ, trusted)))
                logger.info("about %s", "this")
        logger.info("outside any request")
    finally:
        logger.removeHandler(out)
    lines = stream.getvalue().splitlines()
    assert said[0] != "proxy-given-0001" and said[1] == "proxy-given-0002"
    assert said[2] != "bad id; x=y" and re.fullmatch(r"[0-9a-f]{16}", said[2])
    for line, request_id in zip(lines, said):
        assert re.fullmatch(rf"\S+ \S+ INFO telverify\.test-plain \[{request_id}\]: about this", line), line
    assert lines[3].endswith("[-]: outside any request")


def test_every_answer_names_its_request(client):
    ids = {client.get(path, headers={"X-Request-Id": "from-a-client-0001"}).headers["X-Request-Id"]
           for path in ("/healthz/live", "/no/such/path", "/v2/Services")}
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)  # no proxy is trusted here
