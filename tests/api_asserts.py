"""Assertions on Verify's error answers, shared by the API tests of rate limits and the SafeList."""
import json
import threading

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException


def refused(call, status=400, code=60200) -> str:
    """`call` (an SDK call) is refused with this HTTP status and Verify code; its message."""
    with pytest.raises(TwilioRestException) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (status, code), raised.value.msg
    return raised.value.msg


def list_refused(listing, status=404, code=20404) -> None:
    """The SDK's list() reports an error page as a plain TwilioException carrying the response."""
    with pytest.raises(TwilioException) as raised:
        listing()
    response = raised.value.args[1]
    assert (response.status_code, json.loads(response.text)["code"]) == (status, code), response.text


def invalid(response, *words) -> str:
    """A raw `requests` answer is 400, 60200, and its message names each of `words`."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["status"]) == (60200, 400)
    for word in words:
        assert word in body["message"], body["message"]
    return body["message"]


def at_once(count: int, send) -> list:
    """`send(n)` for n in range(count), from as many threads at once; the answers."""
    answers = []
    threads = [threading.Thread(target=lambda n=n: answers.append(send(n))) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
