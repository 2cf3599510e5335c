"""Settings from the environment: what loads, what is refused and how clearly, and start-up
failing with EX_CONFIG instead of a crash loop."""
import os
import re
import subprocess
import sys

import pytest

from config import ConfigError, Settings, load_settings
from tests.support import (
    ACCOUNT_SID,
    ADMIN_KEY,
    ADMIN_SECRET,
    API_KEY,
    API_SECRET,
    APP_ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    KEY_SECRET,
    KEY_SID,
    MOBILE,
    ROOT,
    SECOND_KEY,
    SECOND_SECRET,
    SECRET_KEY,
    create_app,
    make_env,
)
from verify.store import connection, sentinel

MESSAGING_SID = "MG" + "0123456789abcdef" * 2

REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "API_CREDENTIALS", "SECRET_KEY")


def valid_env(**overrides):
    return make_env("redis://127.0.0.1:6399/2", "http://127.0.0.1:9999", "https://verify.example.com",
                    **overrides)


def problems_of(env) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    return str(raised.value)


def test_complete_environment_loads():
    settings = load_settings(valid_env(TWILIO_API_BASE_URL="http://127.0.0.1:9999/", LOG_LEVEL="debug"))
    assert isinstance(settings, Settings)
    assert settings.redis_url == "redis://127.0.0.1:6399/2"
    assert settings.twilio_account_sid == ACCOUNT_SID
    assert settings.twilio_auth_token == AUTH_TOKEN
    assert settings.twilio_from_number == FROM_NUMBER
    assert settings.twilio_messaging_service_sid is None
    assert settings.twilio_api_base_url == "http://127.0.0.1:9999"  # trailing slash removed
    assert settings.twilio_timeout_seconds == 2.0
    assert settings.public_base_url == "https://verify.example.com"
    assert settings.api_secrets == {API_KEY: API_SECRET, KEY_SID: KEY_SECRET, SECOND_KEY: SECOND_SECRET}
    # the first two share the account written before them; the third is an account of its own
    owners = {key: c.account_sid for key, c in settings.api_credentials.items()}
    assert owners[API_KEY] == owners[KEY_SID] == APP_ACCOUNT_SID == settings.first_account_sid
    assert re.fullmatch(r"AC[0-9a-f]{32}", owners[SECOND_KEY]) and owners[SECOND_KEY] != APP_ACCOUNT_SID
    assert settings.admin_credentials == {ADMIN_KEY: ADMIN_SECRET}
    assert load_settings(valid_env(ADMIN_CREDENTIALS=None)).admin_credentials == {}  # no admin API by default
    assert settings.audit_retention_days == 400
    assert settings.secret_key == SECRET_KEY
    assert settings.log_level == "DEBUG"


def test_defaults_for_optional_settings():
    env = valid_env()
    for name in ("REDIS_URL", "TWILIO_API_BASE_URL", "TWILIO_TIMEOUT_SECONDS", "LOG_LEVEL"):
        del env[name]
    settings = load_settings(env)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.twilio_api_base_url == "https://api.twilio.com"
    assert settings.twilio_timeout_seconds == 10.0
    assert settings.log_level == "INFO"


def test_values_are_stripped_and_blank_means_missing():
    settings = load_settings(valid_env(TWILIO_AUTH_TOKEN="  token-with-spaces  "))
    assert settings.twilio_auth_token == "token-with-spaces"
    assert "TWILIO_AUTH_TOKEN is required" in problems_of(valid_env(TWILIO_AUTH_TOKEN="   "))


@pytest.mark.parametrize("name", REQUIRED)
def test_each_missing_required_variable_is_named(name):
    env = valid_env()
    del env[name]
    message = problems_of(env)
    assert f"{name} is required" in message
    # Only the missing one is reported.
    others = [other for other in REQUIRED if other != name]
    assert not any(f"{other} is required" in message for other in others)


def test_a_sender_is_required():
    message = problems_of(valid_env(TWILIO_FROM_NUMBER=None))
    assert "TWILIO_FROM_NUMBER" in message and "TWILIO_MESSAGING_SERVICE_SID" in message


def test_every_problem_is_reported_at_once():
    message = problems_of({"TWILIO_TIMEOUT_SECONDS": "99", "LOG_LEVEL": "LOUD"})
    for name in REQUIRED + ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_TIMEOUT_SECONDS",
                            "LOG_LEVEL"):
        assert name in message, name
    assert message.startswith("telverify cannot start:")
    assert message.count("\n  - ") == 8


@pytest.mark.parametrize("overrides, named", [
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "XX" + "0" * 32}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "g" * 32}, "TWILIO_ACCOUNT_SID"),
    ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
    ({"SECRET_KEY": "x" * 31}, "SECRET_KEY"),
    ({"API_CREDENTIALS": "no-colon-here-at-all"}, "API_CREDENTIALS"),
    ({"API_CREDENTIALS": ":secret-without-an-id-0123"}, "API_CREDENTIALS"),
    ({"API_CREDENTIALS": "app:short"}, "API_CREDENTIALS"),
    ({"API_CREDENTIALS": f"{API_KEY}:{API_SECRET},broken"}, "API_CREDENTIALS"),
    ({"API_CREDENTIALS": f"/{API_KEY}:{API_SECRET}"}, "API_CREDENTIALS"),  # an account without a name
    ({"API_CREDENTIALS": f"{API_KEY}:{API_SECRET},{API_KEY}:other-secret-0123456789"}, "API_CREDENTIALS"),
    ({"ADMIN_CREDENTIALS": "helpdesk:short"}, "ADMIN_CREDENTIALS"),
    ({"ADMIN_CREDENTIALS": f"{API_KEY}:admin-secret-0123456789"}, "ADMIN_CREDENTIALS"),  # an app's id
    ({"AUDIT_RETENTION_DAYS": "0"}, "AUDIT_RETENTION_DAYS"),
    ({"PUBLIC_BASE_URL": "ftp://verify.example.com"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "verify.example.com"}, "PUBLIC_BASE_URL"),
    ({"TWILIO_API_BASE_URL": "not a url"}, "TWILIO_API_BASE_URL"),
    ({"TWILIO_API_BASE_URL": "http://"}, "TWILIO_API_BASE_URL"),
    ({"TWILIO_TIMEOUT_SECONDS": "0"}, "TWILIO_TIMEOUT_SECONDS"),
    ({"TWILIO_TIMEOUT_SECONDS": "15"}, "TWILIO_TIMEOUT_SECONDS"),
    ({"TWILIO_TIMEOUT_SECONDS": "ten"}, "TWILIO_TIMEOUT_SECONDS"),
    ({"LOG_LEVEL": "VERBOSE"}, "LOG_LEVEL"),
    ({"TWILIO_THREADS_PER_WORKER": "0"}, "TWILIO_THREADS_PER_WORKER"),
    ({"TWILIO_THREADS_PER_WORKER": "32"}, "TWILIO_THREADS_PER_WORKER"),  # every thread of GUNICORN_THREADS' 32
    ({"TWILIO_THREADS_PER_WORKER": "8", "GUNICORN_THREADS": "8"}, "TWILIO_THREADS_PER_WORKER"),
    ({"TWILIO_THREADS_PER_WORKER": "half"}, "TWILIO_THREADS_PER_WORKER"),
    ({"GUNICORN_THREADS": "1"}, "GUNICORN_THREADS"),
    ({"GUNICORN_THREADS": "many"}, "GUNICORN_THREADS"),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+cluster://10.0.0.5"}, "REDIS_URL"),  # no port
    ({"REDIS_URL": "redis+cluster://10.0.0.5:7000/1"}, "REDIS_URL"),  # a cluster has database 0 only
    ({"REDIS_URL": "rediss+cluster://10.0.0.5:7000,10.0.0.6:7000"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+cluster://10.0.0.5:7000?ssl_cert_reqs=none"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+cluster://10.0.0.5:70000"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+sentinel://10.0.0.5:26379"}, "REDIS_URL"),  # no master name
    ({"REDIS_URL": "redis+sentinel://10.0.0.5:26379/primary/zero"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+sentinel://10.0.0.5:26379/primary/0/extra"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+sentinel://10.0.0.5:26379,10.0.0.6:99999/primary"}, "REDIS_URL"),
    ({"REDIS_URL": "redis+sentinel://10.0.0.5:26379,/primary"}, "REDIS_URL"),  # an empty entry
    ({"REDIS_URL": "rediss+sentinel://10.0.0.5/primary?ssl_cert_reqs=none"}, "REDIS_URL"),
    ({"REDIS_SENTINEL_PASSWORD": "sentinel-secret"}, "REDIS_SENTINEL_PASSWORD"),  # without Sentinels
    ({"TWILIO_FROM_NUMBER": "5017122661"}, "TWILIO_FROM_NUMBER"),
    ({"TWILIO_MESSAGING_SERVICE_SID": "MG123"}, "TWILIO_MESSAGING_SERVICE_SID"),
])
def test_malformed_values_are_named(overrides, named):
    message = problems_of(valid_env(**overrides))
    assert named in message
    # Exactly one problem: the malformed value, nothing else.
    assert message.count("\n  - ") == 1, message


@pytest.mark.parametrize("url", [
    "http://verify.example.com", "http://verify.example.com:8000/telverify", "http://203.0.113.7",
    "http://10.0.0.5:8000",  # private, but not this host's own
    "http://127.0.0.1.example.com", "http://localhost.example.com", "http://[2001:db8::1]:8000",
])
def test_a_plain_http_public_base_url_is_refused_unless_its_host_is_loopback(url):
    message = problems_of(valid_env(PUBLIC_BASE_URL=url))
    assert "PUBLIC_BASE_URL must be an https:// URL" in message
    assert "PUBLIC_BASE_URL_ALLOW_HTTP=1" in message  # the way out, named
    assert message.count("\n  - ") == 1, message


@pytest.mark.parametrize("url", [
    "https://verify.example.com", "https://203.0.113.7:8443/telverify", "http://127.0.0.1:8000",
    "http://127.9.9.9", "http://[::1]:8000/telverify", "http://localhost", "http://LocalHost:8000",
])
def test_https_or_a_loopback_host_is_accepted(url):
    assert load_settings(valid_env(PUBLIC_BASE_URL=url)).public_base_url == url


def test_a_plain_http_public_base_url_is_accepted_when_the_risk_is(redis_url, standin):
    url = "http://verify.internal:8000"
    env = make_env(redis_url, standin.base_url, url, PUBLIC_BASE_URL_ALLOW_HTTP="1")
    assert load_settings(env).public_base_url == url
    assert create_app(env).test_client().get("/healthz/ready").status_code == 200
    for value in ("yes", "true", "2"):
        message = problems_of(valid_env(PUBLIC_BASE_URL=url, PUBLIC_BASE_URL_ALLOW_HTTP=value))
        assert "PUBLIC_BASE_URL_ALLOW_HTTP must be 1" in message and message.count("\n  - ") == 1, message
    assert "PUBLIC_BASE_URL must be an https:// URL" in problems_of(
        valid_env(PUBLIC_BASE_URL=url, PUBLIC_BASE_URL_ALLOW_HTTP="0"))


def test_a_redis_cluster_is_named_by_one_node():
    for url in ("redis+cluster://10.0.0.5:7000", "rediss+cluster://telverify:p%40ss%3Aw@redis.internal:6380/"):
        assert load_settings(valid_env(REDIS_URL=url)).redis_url == url
    node = connection.cluster_node("rediss+cluster://telverify:p%40ss%3Aw@redis.internal:6380")
    assert (node.host, node.port, node.username, node.password, node.tls) == \
        ("redis.internal", 6380, "telverify", "p@ss:w", True)
    assert connection.cluster_node("redis+cluster://10.0.0.5:7000").options()["ssl"] is False
    assert connection.cluster_node("redis://10.0.0.5:7000/0") is None
    message = problems_of(valid_env(REDIS_URL="redis+cluster://10.0.0.5:7000/1"))
    assert "REDIS_URL" in message and "database 0" in message


def test_redis_sentinel_is_named_by_its_sentinels_and_the_primarys_name():
    url = "rediss+sentinel://telverify:p%40ss%3Aw@10.0.0.5:26380,sentinel.internal,[2001:db8::7]:26381/orders%2Fmain/2"
    settings = load_settings(valid_env(REDIS_URL=url, REDIS_SENTINEL_PASSWORD="sentinel-secret"))
    assert (settings.redis_url, settings.redis_sentinel_password) == (url, "sentinel-secret")
    found = sentinel.target(url)
    assert found.sentinels == (("10.0.0.5", 26380), ("sentinel.internal", 26379), ("2001:db8::7", 26381))
    assert (found.master, found.db, found.username, found.password, found.tls) == \
        ("orders/main", 2, "telverify", "p@ss:w", True)
    # The URL's credentials are the data nodes'; the Sentinels get their own password, or none.
    assert found.data_options({}, None)["password"] == "p@ss:w"
    assert found.sentinel_options({}, None, None)["password"] is None
    assert sentinel.target("redis+sentinel://10.0.0.5/primary").db == 0
    assert sentinel.target("redis+cluster://10.0.0.5:7000") is None
    message = problems_of(valid_env(REDIS_URL="redis+sentinel://10.0.0.5:26379"))
    assert "REDIS_URL: a Redis Sentinel URL must be redis+sentinel://" in message and "master name" in message


def test_twilio_threads_per_worker_are_three_quarters_of_gunicorns_threads_by_default_and_never_all():
    assert load_settings(valid_env()).twilio_threads_per_worker == 24  # GUNICORN_THREADS' 32
    assert load_settings(valid_env(GUNICORN_THREADS="8")).twilio_threads_per_worker == 6
    assert load_settings(valid_env(GUNICORN_THREADS="3")).twilio_threads_per_worker == 2
    assert load_settings(valid_env(GUNICORN_THREADS="2")).twilio_threads_per_worker == 1
    assert load_settings(valid_env(TWILIO_THREADS_PER_WORKER="31")).twilio_threads_per_worker == 31
    assert load_settings(valid_env(TWILIO_THREADS_PER_WORKER="1", GUNICORN_THREADS="2")).twilio_threads_per_worker == 1
    message = problems_of(valid_env(TWILIO_THREADS_PER_WORKER="8", GUNICORN_THREADS="8"))
    assert "TWILIO_THREADS_PER_WORKER must be a whole number from 1 to 7 (fewer than GUNICORN_THREADS, 8" in message


def test_boundaries_that_are_accepted():
    assert load_settings(valid_env(TWILIO_TIMEOUT_SECONDS="14")).twilio_timeout_seconds == 14.0
    assert load_settings(valid_env(TWILIO_TIMEOUT_SECONDS="0.1")).twilio_timeout_seconds == 0.1
    assert load_settings(valid_env(LOG_LEVEL="warning")).log_level == "WARNING"


@pytest.mark.parametrize("name", ["LIMIT_SENDS_PER_NUMBER", "LIMIT_CALLS_PER_NUMBER",
                                  "LIMIT_VERIFICATIONS_PER_NUMBER"])
@pytest.mark.parametrize("value,window", [("2 per 7 days", "7 days"), ("1 per 25 hours", "25 hours"),
                                          ("3 per 10 minutes; 40 per 2 days", "2 days")])
def test_a_numbers_own_limit_counts_over_a_day_at_most(name, value, window):
    message = problems_of(valid_env(**{name: value}))
    assert f"{name}: '{value}' counts over {window}" in message
    assert "the longest window of a number's own limits is a day" in message
    assert message.count("\n  - ") == 1, message


def test_limit_windows_that_are_accepted():
    settings = load_settings(valid_env(LIMIT_SENDS_PER_NUMBER="30 per 24 hours", LIMIT_CALLS_PER_NUMBER="5 per day",
                                       LIMIT_VERIFICATIONS_PER_NUMBER="1 per 86400 seconds",
                                       LIMIT_SENDS_PER_PREFIX="100 per hour; 500 per 7 days",
                                       LIMIT_SENDS_PER_SERVICE="100000 per 30 days"))
    assert [item.get_expiry() for item in settings.limits["sends_per_number"]] == [86400]
    assert [item.get_expiry() for item in settings.limits["sends_per_prefix"]] == [3600, 7 * 86400]
    assert [item.get_expiry() for item in settings.limits["sends_per_service"]] == [30 * 86400]


def test_credentials_share_an_account_when_written_account_slash_id():
    shared = "AC" + "ab" * 16
    settings = load_settings(valid_env(
        API_CREDENTIALS=f"{shared}/SK{'1' * 32}:first-key-secret-0123,{shared}/SK{'2' * 32}:second-key-secret-01,"
                        "acme/web-1:web-1-secret-0123456,acme/web-2:web-2-secret-0123456,"
                        f"{shared}:the-account-own-secret-01,solo:solo-secret-0123456789",
        ADMIN_CREDENTIALS="helpdesk:helpdesk-secret-0123"))
    credentials = settings.api_credentials
    # an AC sid written as the account (or as the id itself) is the account's sid
    assert {credentials[k].account_sid for k in (f"SK{'1' * 32}", f"SK{'2' * 32}", shared)} == {shared}
    # a name is turned into a sid: the same for both of its credentials, stable, and no other's
    acme = credentials["web-1"].account_sid
    assert credentials["web-2"].account_sid == acme and re.fullmatch(r"AC[0-9a-f]{32}", acme)
    assert acme not in (shared, credentials["solo"].account_sid)
    assert load_settings(valid_env(API_CREDENTIALS="acme/web-9:web-9-secret-0123456")
                         ).api_credentials["web-9"].account_sid == acme
    assert settings.first_account_sid == shared
    assert settings.admin_credentials == {"helpdesk": "helpdesk-secret-0123"}


def test_secret_from_file(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("file-secret-key-0123456789abcdef-0123456789\n")
    token_file = tmp_path / "token"
    token_file.write_text("token-from-a-file\n")
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("filed-app:filed-app-secret-0123456\n")
    settings = load_settings(valid_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file),
                                       TWILIO_AUTH_TOKEN=None, TWILIO_AUTH_TOKEN_FILE=str(token_file),
                                       API_CREDENTIALS=None, API_CREDENTIALS_FILE=str(credentials_file)))
    assert settings.secret_key == "file-secret-key-0123456789abcdef-0123456789"
    assert settings.twilio_auth_token == "token-from-a-file"
    assert list(settings.api_credentials) == ["filed-app"]
    assert settings.api_credentials["filed-app"].secret == "filed-app-secret-0123456"


def test_secret_file_contents_are_validated(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("short\n")
    message = problems_of(valid_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file)))
    assert "SECRET_KEY must be at least 32 characters" in message


def test_unreadable_secret_file_is_named(tmp_path):
    missing = tmp_path / "does-not-exist"
    message = problems_of(valid_env(SECRET_KEY=None, SECRET_KEY_FILE=str(missing)))
    assert "SECRET_KEY_FILE" in message and str(missing) in message


def test_file_variant_only_for_secrets(tmp_path):
    url_file = tmp_path / "url"
    url_file.write_text("https://verify.example.com\n")
    message = problems_of(valid_env(PUBLIC_BASE_URL=None, PUBLIC_BASE_URL_FILE=str(url_file)))
    assert "PUBLIC_BASE_URL is required" in message


def test_gunicorn_entry_point_exits_with_ex_config_naming_what_is_missing():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PUBLIC_BASE_URL": "https://verify.example.com"}
    result = subprocess.run([sys.executable, "-c", "import app; app.app"], env=env, cwd=str(ROOT),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 78, (result.returncode, result.stderr)
    assert "telverify cannot start" in result.stderr
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "API_CREDENTIALS", "SECRET_KEY",
                 "TWILIO_FROM_NUMBER"):
        assert f"{name}" in result.stderr, name
    assert "PUBLIC_BASE_URL is required" not in result.stderr
    assert "Traceback" not in result.stderr


def test_importing_app_needs_no_environment():
    result = subprocess.run([sys.executable, "-c", "import app; print(callable(app.create_app))"],
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=str(ROOT),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_messaging_service_instead_of_a_from_number(redis_url, standin):
    env = make_env(redis_url, standin.base_url, "http://localhost", TWILIO_FROM_NUMBER=None,
                   TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SID)
    settings = load_settings(env)
    assert (settings.twilio_from_number, settings.twilio_messaging_service_sid) == (None, MESSAGING_SID)

    client = create_app(env).test_client()
    auth = (API_KEY, API_SECRET)
    created = client.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=auth)
    assert created.status_code == 201, created.json
    started = client.post(f"/v2/Services/{created.json['sid']}/Verifications",
                          data={"To": MOBILE, "Channel": "sms"}, auth=auth)
    assert started.status_code == 201, started.json

    message = standin.wait_for_message(MOBILE)
    assert message["messaging_service_sid"] == MESSAGING_SID
    assert message["from"] is None
    assert message["body"].startswith("Your Acme verification code is: ")
