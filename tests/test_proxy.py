"""telverify behind nginx, both configured exactly as README.md's "Deployment: nginx and systemd"
shows them: Debian's nginx terminating TLS (a certificate of a test CA) in front of gunicorn with
the systemd unit's command and environment (TRUSTED_PROXIES=1, loopback only, PUBLIC_BASE_URL
the https address). Twilio's signed webhooks pass; failed authentications count against each
client's own address (clients on 127.0.0.2, 127.0.0.3... of loopback), whatever X-Forwarded-For
or X-Request-Id it sends; the `twilio` SDK works through it."""
from __future__ import annotations

import re
import runpy
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from config import ConfigError, load_settings
from tests.nginx import nginx, readme_block, substituted
from tests.support import (
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    MOBILE,
    ROOT,
    Gunicorn,
    free_port,
    make_env,
    run_call,
    verify_client,
)
from verify.form_request import MAX_BODY

FAILURES_BEFORE_BLOCK = 3  # failed authentications from one address before its requests answer 429
RIGHT, WRONG = (API_KEY, API_SECRET), (API_KEY, "not-the-secret-0123456789")


def unit_service() -> dict[str, str]:
    """The systemd unit's [Service] settings by name; its Environment= lines joined."""
    section = readme_block("ini").split("[Service]\n", 1)[1].split("\n[", 1)[0]
    settings: dict[str, str] = {}
    for line in section.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name] = f"{settings[name]} {value}" if name in settings and name == "Environment" else value
    return settings


class FromAddress(HTTPAdapter):
    """Connects from `address`: one client of loopback's many (127.0.0.2, 127.0.0.3...)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


@dataclass
class Proxied:
    url: str  # nginx's https address, telverify's PUBLIC_BASE_URL
    http_url: str  # nginx's plain http address
    ca: Path
    access_log: Path
    gunicorn: Gunicorn

    def client(self, address: str) -> requests.Session:
        session = requests.Session()
        session.mount("https://", FromAddress(address))
        session.verify = str(self.ca)
        session.trust_env = False  # REQUESTS_CA_BUNDLE, where set, would replace the test CA
        return session

    def accessed(self, text: str) -> str:
        """nginx's access log line holding `text`, once written (after the answer is sent)."""
        deadline = time.monotonic() + 10
        while True:
            line = next((line for line in self.access_log.read_text().splitlines() if text in line), None)
            if line or time.monotonic() > deadline:
                assert line, f"{text!r} is not in nginx's access log:\n{self.access_log.read_text()}"
                return line
            time.sleep(0.05)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, redis_url, standin):
    folder = tmp_path_factory.mktemp("proxy")
    https_port, http_port = free_port(), free_port()
    public = f"https://localhost:{https_port}"
    unit = unit_service()
    environment = dict(pair.split("=", 1) for pair in shlex.split(unit["Environment"]))
    assert environment.pop("PORT") == "8000"  # gunicorn's port here is its own free one
    assert environment["PUBLIC_BASE_URL"] == "https://verify.example.com"
    environment["PUBLIC_BASE_URL"] = public  # on its own port here, not 443
    env = lambda url: make_env(redis_url, standin.base_url, public,  # noqa: E731
                               AUTH_FAILURES_BEFORE_DELAY=str(FAILURES_BEFORE_BLOCK),
                               AUTH_FAILURES_BEFORE_BLOCK=str(FAILURES_BEFORE_BLOCK))
    with (Gunicorn(folder, env, **environment) as server, nginx(folder, https_port, http_port, server.port),
          pytest.MonkeyPatch.context() as patch):
        # The stand-in plays Twilio in this process: its webhooks, sent to PUBLIC_BASE_URL,
        # trust the test CA, as Twilio trusts a public CA.
        patch.setenv("SSL_CERT_FILE", str(folder / "ca.pem"))
        yield Proxied(public, f"http://127.0.0.1:{http_port}", folder / "ca.pem", folder / "access.log", server)
    # No request through the proxy failed, in telverify or between nginx and gunicorn.
    assert not re.search(r'" 5\d\d ', (folder / "access.log").read_text()), (folder / "access.log").read_text()
    assert "Traceback" not in server.log(), server.log()


def services_url(proxied: Proxied) -> str:
    return f"{proxied.url}/v2/Services"


def test_the_sdk_starts_a_verification_and_twilios_signed_reports_pass_through_the_proxy(proxied, standin):
    sdk = verify_client(proxied.url)
    sdk.http_client.session.verify = str(proxied.ca)
    service = sdk.verify.v2.services.create(friendly_name="Acme")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert verification.status == "pending" and verification.url.startswith(proxied.url + "/v2/Services/")
    message = standin.wait_for_message(MOBILE)
    reports = standin.wait_for_callbacks(message["sid"], 2, timeout=20)
    # Twilio signs the https URL telverify gave it; nginx passes it on as plain http to gunicorn,
    # and the signature still holds, checked against PUBLIC_BASE_URL.
    assert all(r["url"].startswith(proxied.url + "/sms/status?") for r in reports), reports
    assert [r.get("http_status") for r in reports] == [204, 204], reports
    # The reports carry the start's request id, nginx's: its log and telverify's follow the
    # verification under one id.
    request_id = re.search(r"[?&]rid=([0-9a-f]{32})(?:&|$)", reports[0]["url"]).group(1)
    assert f'"POST /v2/Services/{service.sid}/Verifications HTTP/1.1" 201' in proxied.accessed(f"rid={request_id}")
    fetched = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch()
    assert fetched.send_code_attempts[0]["delivery_status"] == "delivered"

    url, form = reports[-1]["url"], reports[-1]["params"]
    path = url[len(proxied.url):]
    client = proxied.client("127.0.0.1")

    def answer(signature: str) -> int:
        return client.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10).status_code

    assert answer(RequestValidator(AUTH_TOKEN).compute_signature(url, form)) == 204
    # Refused: another token's signature, and Twilio's signature of any other URL: gunicorn's
    # own address, or the public one over http.
    assert answer(RequestValidator("another-auth-token-0123456789ab").compute_signature(url, form)) == 403
    assert answer(RequestValidator(AUTH_TOKEN).compute_signature(proxied.gunicorn.url + path, form)) == 403
    assert answer(RequestValidator(AUTH_TOKEN).compute_signature("http" + url[len("https"):], form)) == 403


def test_a_call_runs_on_twilios_signed_voice_webhooks_through_the_proxy(proxied, standin):
    """Each of the call's webhooks (its TwiML, the keys pressed, its status) is signed for the
    public https URL and checked by gunicorn behind nginx: one refused would end the call early,
    with an apology and nothing approved."""
    standin.set_callee(MOBILE, answer="human", keys=["#"])
    sdk = verify_client(proxied.url)
    sdk.http_client.session.verify = str(proxied.ca)
    service = sdk.verify.v2.services.create(friendly_name="Acme")
    verification = sdk.verify.v2.services(service.sid).verifications.create(to=MOBILE, channel="call_approve")
    call = run_call(standin, MOBILE)
    assert call["said"][-1] == "Thank you. Your sign-in is approved. Goodbye.", call["said"]
    fetched = sdk.verify.v2.services(service.sid).verifications(verification.sid).fetch()
    assert fetched.status == "approved"


def locked_out(answer: requests.Response, address: str) -> bool:
    return answer.status_code == 429 and f"from your address ({address})" in answer.json()["message"]


def test_failed_authentications_count_against_each_clients_own_address(proxied, redis_url):
    first, second = proxied.client("127.0.0.2"), proxied.client("127.0.0.3")
    for _ in range(FAILURES_BEFORE_BLOCK):
        assert first.get(services_url(proxied), auth=WRONG, timeout=10).status_code == 401
    assert locked_out(first.get(services_url(proxied), auth=RIGHT, timeout=10), "127.0.0.2")
    # Not the proxy's lockout: another client behind the same nginx gets in.
    assert second.get(services_url(proxied), auth=RIGHT, timeout=10).status_code == 200
    counted = {key.decode().split("/")[2] for key in redis.Redis.from_url(redis_url).scan_iter("*auth-failures/*")}
    assert counted == {"127.0.0.2"}


def test_a_forged_x_forwarded_for_neither_escapes_a_lockout_nor_shifts_it_onto_another(proxied):
    guesser, victim = proxied.client("127.0.0.4"), proxied.client("127.0.0.5")
    for _ in range(FAILURES_BEFORE_BLOCK):
        answer = guesser.get(services_url(proxied), auth=WRONG, headers={"X-Forwarded-For": "127.0.0.5"}, timeout=10)
        assert answer.status_code == 401
    assert victim.get(services_url(proxied), auth=RIGHT, timeout=10).status_code == 200
    for claimed in ("127.0.0.5", "198.51.100.7, 127.0.0.6", "127.0.0.1", "", "not an address"):
        answer = guesser.get(services_url(proxied), auth=RIGHT, headers={"X-Forwarded-For": claimed}, timeout=10)
        assert locked_out(answer, "127.0.0.4"), (claimed, answer.status_code, answer.text)


def test_the_request_id_is_nginxs_never_the_clients(proxied):
    chosen = "chosen-by-the-client-0001"
    answer = proxied.client("127.0.0.6").get(services_url(proxied), auth=RIGHT, headers={"X-Request-Id": chosen},
                                             timeout=10)
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-Id"]
    assert request_id != chosen and re.fullmatch(r"[0-9a-f]{32}", request_id), request_id  # nginx's $request_id
    # One id in both logs: nginx's line of this request, and telverify's answer.
    assert '"GET /v2/Services HTTP/1.1" 200' in proxied.accessed(f"rid={request_id}")
    assert chosen not in proxied.access_log.read_text()


def test_nginx_takes_every_body_telverify_takes_and_refuses_larger_ones(proxied):
    client = proxied.client("127.0.0.7")

    def post(size: int) -> requests.Response:
        body = "FriendlyName=" + "a" * (size - len("FriendlyName="))
        return client.post(services_url(proxied), data=body, auth=RIGHT, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    largest = post(MAX_BODY)  # telverify's own answer: the name is too long
    assert largest.status_code == 400 and "FriendlyName" in largest.json()["message"], largest.text
    refused = post(MAX_BODY + 1)  # nginx's, in telverify's words
    assert refused.status_code == 413 and refused.headers["Content-Type"] == "application/json"
    assert refused.json() == {"code": 60200, "message": "Request Entity Too Large: the body is over 64 KB.",
                              "more_info": "https://www.twilio.com/docs/errors/60200", "status": 413}


def test_with_gunicorn_stopped_the_sdk_hears_telverifys_503(tmp_path):
    """nginx's 502 in Twilio's error shape, as telverify's own 503, 20503: what an application
    already retries."""
    https_port, http_port, stopped = free_port(), free_port(), free_port()  # nothing listens on `stopped`
    with nginx(tmp_path, https_port, http_port, stopped):
        sdk = verify_client(f"https://localhost:{https_port}")
        sdk.http_client.session.verify = str(tmp_path / "ca.pem")
        with pytest.raises(TwilioRestException) as raised:
            sdk.verify.v2.services.create(friendly_name="Acme")
    assert (raised.value.status, raised.value.code) == (503, 20503)
    assert "a change may have been applied" in raised.value.msg


def test_plain_http_is_sent_to_https(proxied):
    answer = requests.post(f"{proxied.http_url}/v2/Services", auth=RIGHT, allow_redirects=False, timeout=10)
    assert answer.status_code == 301 and answer.headers["Location"] == "https://localhost/v2/Services"


def test_the_unit_runs_the_procfiles_gunicorn_reachable_through_the_proxy_alone(proxied, redis_url, standin):
    unit = unit_service()
    command = shlex.split(unit["ExecStart"])
    procfile = (ROOT / "Procfile").read_text().split("web:", 1)[1].split()
    assert command == [f"{unit['WorkingDirectory']}/.venv/bin/{procfile[0]}", *procfile[1:]]
    assert unit["User"] not in ("", "root") and unit["EnvironmentFile"].startswith("/etc/")
    assert unit["KillSignal"] == "SIGTERM"
    # systemd outwaits the longest stop telverify accepts: the longest drain, then gunicorn's
    # graceful timeout. A drain as long as TimeoutStopSec minus that timeout is refused.
    graceful = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["graceful_timeout"]
    too_long = str(int(unit["TimeoutStopSec"]) - graceful)
    with pytest.raises(ConfigError, match="SHUTDOWN_DRAIN_SECONDS"):
        load_settings(make_env(redis_url, standin.base_url, proxied.url, SHUTDOWN_DRAIN_SECONDS=too_long))
    assert {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}.items() <= unit.items()
    # BIND_HOST keeps gunicorn to loopback: it warns of no way around the proxy.
    log = proxied.gunicorn.log()
    assert f"Listening at: http://127.0.0.1:{proxied.gunicorn.port} " in log
    assert "without passing the proxies" not in log


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")
def test_systemd_finds_nothing_wrong_in_the_unit(tmp_path):
    unit = tmp_path / "telverify.service"
    # The checkout is this one: systemd checks that ExecStart's program is there.
    unit.write_text(substituted(readme_block("ini"), {"/opt/telverify": str(ROOT)}))
    checked = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and str(unit) not in checked.stdout + checked.stderr, checked.stderr
