"""What a rotation of SECRET_KEY does to pending verifications and number-keyed state, as
docs/configuration.md ("Rotating SECRET_KEY") says."""
from app import create_app
from tests.support import API_KEY, API_SECRET, MOBILE, SECRET_KEY, code_in, make_env

NEW_KEY = "rotated-secret-key-0123456789abcdef-0123456789"
AUTH = (API_KEY, API_SECRET)


def test_a_rotation_leaves_pending_codes_uncheckable_and_numbers_start_afresh(redis_url, standin):
    one = {"LIMIT_VERIFICATIONS_PER_NUMBER": "1 per day"}
    before = create_app(make_env(redis_url, standin.base_url, "http://localhost", **one)).test_client()
    service = before.post("/v2/Services", data={"FriendlyName": "Acme"}, auth=AUTH).get_json()["sid"]
    base = f"/v2/Services/{service}"
    started = before.post(f"{base}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=AUTH).get_json()
    code = code_in(standin.wait_for_message(MOBILE, timeout=10))
    after = create_app(make_env(redis_url, standin.base_url, "http://localhost", SECRET_KEY=NEW_KEY,
                                SECRET_KEY_PREVIOUS=SECRET_KEY, **one)).test_client()

    # The sid names its slot: found, fetched, but the code's digest was keyed with the previous key.
    assert after.get(f"{base}/Verifications/{started['sid']}", auth=AUTH).get_json()["status"] == "pending"
    by_sid = after.post(f"{base}/VerificationCheck", data={"VerificationSid": started["sid"], "Code": code},
                        auth=AUTH)
    assert by_sid.status_code == 200 and by_sid.get_json()["status"] == "pending"
    # The number's tag changed: a check by To finds nothing, and a start makes a new verification,
    # its number's limit of one verification counted afresh.
    assert after.post(f"{base}/VerificationCheck", data={"To": MOBILE, "Code": code}, auth=AUTH).status_code == 404
    again = after.post(f"{base}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=AUTH)
    assert again.status_code == 201 and again.get_json()["sid"] != started["sid"]
    new_code = code_in(standin.wait_for_message(MOBILE, timeout=10, count=2))
    checked = after.post(f"{base}/VerificationCheck", data={"To": MOBILE, "Code": new_code}, auth=AUTH)
    assert checked.get_json()["status"] == "approved"
    # The limit holds under the new tag: that start was its one verification of the day.
    assert after.post(f"{base}/Verifications", data={"To": MOBILE, "Channel": "sms"}, auth=AUTH).status_code == 429
