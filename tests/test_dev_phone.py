"""The dev phone: the stand-in's web page, driven in Debian's Chromium by Playwright as a person
would use it, against a live telverify wired to a stand-in of these tests' own (calls at half
speed, numbers ring until someone answers in the page). Also the page's feed, /_standin/phones
and its event stream, on their own."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support import (
    ACCOUNT_SID,
    API_KEY,
    API_SECRET,
    AUTH_TOKEN,
    FROM_NUMBER,
    LANDLINE,
    MOBILE,
    ROOT,
    LiveServer,
    application_errors,
    free_port,
    make_env,
    verify_client,
)
from twilio_standin import StandIn
from twilio_standin.twiml import SECONDS_PER_WORD

SCALE = 0.5  # a call at half speed: quick, yet a person-speed flow is not racy
WAIT_MS = 20_000
# page.set_default_timeout covers actions only; expect() has its own 5 s default, which a loaded
# 2-core machine overran once (a key press shown after more than 5 s).
expect.set_options(timeout=WAIT_MS)
PROMPT = "press the pound key"
APPROVED = "Your sign-in is approved"


@pytest.fixture(scope="module")
def phone_standin():
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=SCALE, default_callee="interactive") as server:
        yield server


@pytest.fixture(scope="module")
def phone_live(redis_url, phone_standin):
    with LiveServer(lambda url: make_env(redis_url, phone_standin.base_url, url)) as server:
        yield server


@pytest.fixture
def dev_standin(phone_standin):
    """This module's stand-in, empty, and after the test: no call heard an application error."""
    phone_standin.clear()
    yield phone_standin
    errors = application_errors(phone_standin)
    assert not errors, errors
    phone_standin.clear()  # hangs up whatever still rings


@pytest.fixture
def verify(phone_live):
    """The relying application: the `twilio` SDK's Verify client on telverify, and a service."""
    sdk = verify_client(phone_live.url)
    service = sdk.verify.v2.services.create(friendly_name="Acme")
    return sdk.verify.v2.services(service.sid)



@pytest.fixture
def page(browser, dev_standin):
    """The dev phone in a fresh browser profile; fails the test on any script error or any
    request that leaves the stand-in (nothing may come from a CDN)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("request", lambda request: None if request.url.startswith(dev_standin.base_url)
            or request.url.startswith("data:") else problems.append(f"fetched {request.url}"))
    page.goto(dev_standin.base_url + "/")
    expect(page.locator("#connection")).to_have_text("Live")
    yield page
    context.close()
    assert not problems, problems


def phone(page: Page, number: str):
    return page.locator(f'section.phone[data-number="{number}"]')


def verification_body(live, verification) -> dict:
    """GET .../Verifications/{sid} as an application polls it, with telverify's extra fields."""
    url = f"{live.url}/v2/Services/{verification.service_sid}/Verifications/{verification.sid}"
    answer = requests.get(url, auth=(API_KEY, API_SECRET), timeout=5)
    assert answer.status_code == 200
    return answer.json()


def ring(page: Page, verify, number: str, **params):
    """Start a call_approve verification; return it and the ringing call's card on the page."""
    verification = verify.verifications.create(to=number, channel="call_approve", **params)
    call = phone(page, number).locator("article.call")
    expect(call).to_have_attribute("data-state", "ringing")
    expect(call.locator(".call-title")).to_have_text(f"Incoming call from {FROM_NUMBER}")
    return verification, call


def answer_and_hear_the_prompt(call):
    call.get_by_role("button", name="Answer", exact=True).click()
    expect(call).to_have_attribute("data-state", "in-progress")
    # Shown while it is being said: the executor has reached it, the callee hears it now.
    expect(call.locator(".transcript .say.speaking")).to_contain_text(PROMPT)
    expect(call.locator(".listening")).to_have_text("Listening for a key")


def twilio_create(server: StandIn, resource: str, **params) -> dict:
    """POST a Message or Call to the stand-in's REST API, as telverify's Twilio client does."""
    answer = requests.post(f"{server.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/{resource}.json",
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5, data={"From": FROM_NUMBER, **params})
    assert answer.status_code == 201, answer.text
    return answer.json()


def place_call(server: StandIn, to: str, twiml: str) -> str:
    return twilio_create(server, "Calls", To=to, Twiml=twiml)["sid"]


# -- the two flows, as a person does them ---------------------------------------------------------
def test_an_sms_code_read_in_the_page_approves(page, verify, dev_standin):
    expect(page.locator("#no-phones")).to_be_visible()
    verification = verify.verifications.create(to=MOBILE, channel="sms")
    card = phone(page, MOBILE)  # appears by itself, live
    message = card.locator("li.message")
    expect(message).to_have_count(1)
    expect(message.locator(".message-body")).to_contain_text("Your Acme verification code is:")
    expect(message.locator(".message-meta")).to_contain_text(f"From {FROM_NUMBER}")
    expect(message.locator(".message-status")).to_have_text("delivered")  # live status updates
    code = message.locator("mark.code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    assert code in dev_standin.messages(MOBILE)[0]["body"]

    check = verify.verification_checks.create(to=MOBILE, code=code)
    assert check.status == "approved" and check.sid == verification.sid
    expect(card.locator("article.call")).to_have_count(0)


def test_answering_and_pressing_pound_on_the_page_approves(page, phone_live, verify, dev_standin):
    verification, call = ring(page, verify, LANDLINE)
    expect(page).to_have_title(re.compile("Incoming call"))
    answer_and_hear_the_prompt(call)
    expect(call.locator(".transcript")).not_to_contain_text(APPROVED)  # never ahead of the call
    page.screenshot(path="/tmp/dev-phone-call.png", full_page=True)

    call.get_by_role("button", name="pound (#)").click()
    expect(call.locator(".transcript .keys")).to_have_text("You pressed #")
    expect(call.locator(".transcript .say").last).to_contain_text(APPROVED)
    assert verify.verifications(verification.sid).fetch().status == "approved"
    expect(call).to_have_attribute("data-state", "ended")
    expect(call.locator(".call-sub")).to_contain_text("The caller hung up")
    expect(page).to_have_title("Dev phone · Twilio stand-in")

    body = verification_body(phone_live, verification)
    assert body["call_outcome"] == "approved"
    record = dev_standin.calls(LANDLINE)[-1]
    said = [e["text"] for e in record["transcript"] if e["type"] == "say"]
    shown = call.locator(".transcript .say").all_inner_texts()
    assert [text.split("\n", 1)[-1].strip() for text in shown] == said  # all of it, in order


def test_the_keyboard_presses_keys(page, verify, dev_standin):
    verification, call = ring(page, verify, MOBILE)
    call.get_by_role("button", name="Answer", exact=True).focus()
    page.keyboard.press("Enter")  # buttons work from the keyboard
    expect(call.locator(".transcript .say.speaking")).to_contain_text(PROMPT)
    page.keyboard.press("#")  # no button focused for it: typing # presses the key
    expect(call.locator(".transcript .keys")).to_have_text("You pressed #")
    expect(call.locator(".transcript .say").last).to_contain_text(APPROVED)
    assert verify.verifications(verification.sid).fetch().status == "approved"


def test_a_phone_sized_window_shows_the_whole_call_and_keypad(page, verify, dev_standin):
    page.set_viewport_size({"width": 390, "height": 844})  # a phone held upright
    verification, call = ring(page, verify, MOBILE)
    answer_and_hear_the_prompt(call)
    # Nothing runs off the side: no sideways scrolling, every key whole and big enough for a thumb.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    keys = call.locator(".keypad button")
    expect(keys).to_have_count(12)
    for index in range(12):
        box = keys.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        assert box["width"] >= 44 and box["height"] >= 44, box  # WCAG's minimum touch target
    call.get_by_role("button", name="pound (#)").click()
    expect(call.locator(".transcript .say").last).to_contain_text(APPROVED)
    assert verify.verifications(verification.sid).fetch().status == "approved"


def test_declining_is_a_busy_call(page, phone_live, verify, dev_standin):
    verification, call = ring(page, verify, LANDLINE)
    call.get_by_role("button", name="Decline").click()
    expect(call).to_have_attribute("data-state", "ended")
    expect(call.locator(".call-sub")).to_contain_text("You declined the call")
    dev_standin.wait_for_call_end(dev_standin.calls(LANDLINE)[-1]["sid"])  # telverify got its status
    body = verification_body(phone_live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "busy"
    assert body["send_code_attempts"][0]["delivery_status"] == "busy"


def test_voicemail_hears_nothing_and_is_hung_up(page, phone_live, verify, dev_standin):
    verification, call = ring(page, verify, LANDLINE)
    call.get_by_role("button", name="Let it go to voicemail").click()
    expect(call.locator(".transcript")).to_contain_text("Answering-machine detection: machine_start")
    expect(call).to_have_attribute("data-state", "ended")
    expect(call.locator(".call-sub")).to_contain_text("The caller hung up on your voicemail")
    dev_standin.wait_for_call_end(dev_standin.calls(LANDLINE)[-1]["sid"])
    assert verification_body(phone_live, verification)["call_outcome"] == "machine"


def test_hanging_up_on_the_page(page, phone_live, verify, dev_standin):
    verification, call = ring(page, verify, MOBILE)
    answer_and_hear_the_prompt(call)
    call.get_by_role("button", name="Hang up").click()
    expect(call).to_have_attribute("data-state", "ended")
    expect(call.locator(".call-sub")).to_contain_text("You hung up")
    dev_standin.wait_for_call_end(dev_standin.calls(MOBILE)[-1]["sid"])
    body = verification_body(phone_live, verification)
    assert body["status"] == "pending" and body["call_outcome"] == "hung_up"


def test_a_switchboard_extension_is_shown(page, verify, dev_standin):
    verification, call = ring(page, verify, LANDLINE, send_digits="ww4021")
    answer_and_hear_the_prompt(call)
    expect(call.locator(".transcript .switchboard")).to_have_text("Switchboard dialled: ww4021")
    call.get_by_role("button", name="pound (#)").click()
    expect(call.locator(".transcript .say").last).to_contain_text(APPROVED)


def test_phones_added_by_hand_are_remembered(page, dev_standin):
    field = page.get_by_label("Add a phone")
    field.fill("12345")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-error")).to_contain_text("international format")
    expect(field).to_have_attribute("aria-invalid", "true")

    field.fill("+44 20 7946 0999")
    field.press("Enter")
    card = phone(page, "+442079460999")
    expect(card.locator(".inbox-empty")).to_have_text("No texts yet.")
    expect(page.locator("#add-error")).to_be_hidden()
    page.reload()
    expect(card).to_be_visible()  # kept in the browser

    twilio_create(dev_standin, "Messages", To="+442079460999", Body="hello 42")
    expect(card.locator(".message-body")).to_have_text("hello 42")  # no code in it: nothing marked
    expect(card.locator("mark")).to_have_count(0)

    card.get_by_role("button", name="Remove phone +442079460999").click()
    expect(card).to_have_count(0)
    page.reload()
    expect(page.locator("#connection")).to_have_text("Live")
    expect(card).to_have_count(0)  # removed, and stays so until something new reaches it


def test_with_sound_on_the_call_is_read_aloud_in_its_language(page, verify, dev_standin):
    # Record what the page asks the browser to say (headless Chromium has no voices to hear).
    page.context.add_init_script("""
        window.spoken = [];
        speechSynthesis.speak = (utterance) => spoken.push({text: utterance.text, lang: utterance.lang});
    """)
    page.reload()
    sound = page.get_by_role("button", name="Sound")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_have_text("Sound: on")

    verification, call = ring(page, verify, MOBILE, locale="es")
    call.get_by_role("button", name="Answer", exact=True).click()
    expect(call.locator(".transcript .say.speaking")).to_contain_text("almohadilla")
    spoken = page.wait_for_function("window.spoken.length > 0 && window.spoken").json_value()
    said = dev_standin.calls(MOBILE)[-1]["said"]
    assert spoken == [{"text": said[0], "lang": "es-ES"}]
    call.get_by_role("button", name="pound (#)").click()
    expect(call.locator(".transcript .say").last).to_contain_text("aprobado")
    page.wait_for_function("window.spoken.length === 2")
    assert page.evaluate("window.spoken[1].text") == dev_standin.calls(MOBILE)[-1]["said"][-1]


# -- the page's feed ------------------------------------------------------------------------------
def events(stream: requests.Response):
    """Each Server-Sent Event's data, parsed, as it arrives."""
    for line in stream.iter_lines(decode_unicode=True):
        if line and line.startswith("data: "):
            yield json.loads(line[len("data: "):])


def test_each_say_reaches_the_page_when_it_is_spoken(dev_standin):
    words = "one two three four five six"
    sid = place_call(dev_standin, LANDLINE,
                     f"<Response><Say language='en-GB'>{words}</Say><Say>and the end</Say></Response>")
    arrived: dict[str, float] = {}
    speaking: dict[str, dict] = {}
    with requests.get(f"{dev_standin.base_url}/_standin/phones/events", stream=True, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        answered = False
        for summary in events(stream):
            [call] = [c for p in summary["phones"] if p["number"] == LANDLINE for c in p["calls"]]
            if call["state"] == "ringing" and not answered:
                dev_standin.answer_call(sid)
                answered = True
            for event in call["events"]:
                arrived.setdefault(event.get("text") or event["type"], time.monotonic())
            if call["speaking"]:
                speaking.setdefault(call["speaking"]["text"], call["speaking"])
            if any(event["type"] == "hangup" for event in call["events"]):
                break
    assert [e["type"] for e in call["events"]] == ["say", "say", "hangup"]  # no webhooks or params
    assert speaking[words] == {"text": words, "language": "en-GB", "voice": None, "loop": 1}
    assert call["speaking"] is None and call["answered_as"] == "human"
    # the second Say shows up only once the first has been said (six words at 0.35 s, half
    # speed: 1.05 s; shown ahead of time, both would come at once)
    assert arrived["and the end"] - arrived[words] >= 6 * SECONDS_PER_WORD * SCALE * 0.5


def test_the_summary_groups_texts_and_calls_by_number(dev_standin):
    twilio_create(dev_standin, "Messages", To=MOBILE, Body="code 123456")
    sid = place_call(dev_standin, LANDLINE, "<Response><Say>hi</Say></Response>")
    summary = requests.get(f"{dev_standin.base_url}/_standin/phones", timeout=5).json()
    by_number = {p["number"]: p for p in summary["phones"]}
    assert list(by_number) == [MOBILE, LANDLINE]  # in order of first contact
    assert [m["body"] for m in by_number[MOBILE]["messages"]] == ["code 123456"]
    assert by_number[MOBILE]["calls"] == [] and by_number[LANDLINE]["messages"] == []
    [call] = by_number[LANDLINE]["calls"]
    assert call["sid"] == sid and call["from"] == FROM_NUMBER and "transcript" not in call
    assert summary["version"] > 0


def test_stopping_the_stand_in_ends_event_streams():
    server = StandIn(ACCOUNT_SID, AUTH_TOKEN).start()
    stream = requests.get(f"{server.base_url}/_standin/phones/events", stream=True, timeout=10)
    first = next(events(stream))
    assert first["phones"] == []
    ended = threading.Event()
    reader = threading.Thread(target=lambda: (list(stream.iter_lines()), ended.set()), daemon=True)
    reader.start()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2  # an open stream never holds up shutdown
    assert ended.wait(5), "the event stream stayed open after stop()"
    stream.close()


def test_the_page_and_its_files_are_served(dev_standin):
    for path in ("/", "/phone"):
        answer = requests.get(dev_standin.base_url + path, timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
        assert "Dev phone" in answer.text
    for path, kind in (("/phone/static/phone.js", "javascript"), ("/phone/static/phone.css", "text/css")):
        answer = requests.get(dev_standin.base_url + path, timeout=5)
        assert answer.status_code == 200 and kind in answer.headers["Content-Type"]
        assert not re.search(r"https?://", answer.text)  # nothing from elsewhere


# -- ./dev run, as the README has a person use it --------------------------------------------------
def test_dev_run_prints_the_dev_phone_and_a_working_sdk_example(tmp_path, browser):
    port, standin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "API_", "SECRET_"))}
    env.update(PORT=str(port), STANDIN_PORT=str(standin_port), ENTRA_STANDIN_PORT=str(free_port()),
               TELVERIFY_STATE_DIR=str(tmp_path))
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(ROOT / "dev"), "run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    terminal = None
    try:
        deadline = time.monotonic() + 120
        while "\nPY\n" not in log_path.read_text():  # the end of what it prints
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "./dev run did not start in 120 s"
            time.sleep(0.2)
        output = log_path.read_text()
        assert f"telverify is running at http://127.0.0.1:{port}" in output
        url = re.search(r"Dev phone:\s+(\S+)", output).group(1)
        assert url == f"http://127.0.0.1:{standin_port}/"

        page = browser.new_page()
        page.goto(url)
        expect(page.locator("#connection")).to_have_text("Live")
        # the SDK example pasted into a terminal (`script` gives it one): it sends a code and asks for it
        example = re.search(r"^\S+/python - <<'PY'\n.*?^PY\n", output, re.M | re.S).group(0)
        (tmp_path / "example.sh").write_text(example)
        terminal = subprocess.Popen(["script", "-qec", f"bash {tmp_path / 'example.sh'}", "/dev/null"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        code = page.locator(f'section.phone[data-number="{MOBILE}"] mark.code').inner_text()
        try:
            printed, _ = terminal.communicate(code + "\n", timeout=30)
        except subprocess.TimeoutExpired:
            terminal.kill()
            printed = terminal.communicate()[0]
            raise AssertionError(f"the SDK example did not finish within 30 s; it printed:\n{printed}") from None
        assert printed.split()[-1] == "approved", printed
        page.close()
    except Exception as failure:
        # This test has failed rarely, and only in full runs: say what ./dev run printed, every time.
        raise AssertionError(f"{failure!r}\n--- ./dev run's output ---\n{log_path.read_text()[-6000:]}") from failure
    finally:
        if terminal is not None and terminal.poll() is None:
            terminal.kill()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
