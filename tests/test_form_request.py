"""FormRequest reads urlencoded bodies its own way: it must give exactly werkzeug's form."""
from __future__ import annotations

from urllib.parse import parse_qsl

import flask
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from verify.form_request import FormRequest, parse_form

BODIES = [
    b"To=%2B15017122661&Code=123456",
    b"To=+15017122661&Code=12+34",  # + is a space
    b"Tag=a&Tag=b&Tag=&Empty=&=nameless&flag",  # repeats, blanks, no '=', an empty name
    b"Name=%C3%81cme%20%E6%9D%B1%E4%BA%AC",  # UTF-8 percent-encoded
    b"Name=\xc3\x81cme",  # raw UTF-8
    b"Bad=%E6%9D&Next=1",  # percent-encoding of bytes that are not UTF-8
    b"Bad=\xff\xfe&Next=1",  # a raw body that is not UTF-8
    b"Odd=%zz%&x=%2",
    b"",
    b"a=1;b=2",
]


def forms(data, content_type: str = "application/x-www-form-urlencoded"):
    def environ():
        return EnvironBuilder(method="POST", data=data, content_type=content_type).get_environ()
    theirs, ours = flask.Request(environ()), FormRequest(environ())
    for request in (theirs, ours):
        request.max_content_length = 64 * 1024
    return theirs, ours


@pytest.mark.parametrize("body", BODIES)
def test_the_form_is_werkzeugs(body):
    theirs, ours = forms(body)
    assert list(ours.form.items(multi=True)) == list(theirs.form.items(multi=True))
    assert not ours.files and ours.stream.read() == b""


def test_other_bodies_go_to_werkzeug():
    theirs, ours = forms(b'{"To": "+15017122661"}', content_type="application/json")
    assert not ours.form and not theirs.form
    theirs, ours = forms({"To": "+15017122661"}, content_type="multipart/form-data")
    assert ours.form.to_dict() == theirs.form.to_dict() == {"To": "+15017122661"}


def test_too_long_a_body_is_413():
    _, ours = forms(b"x=" + b"a" * (64 * 1024))
    with pytest.raises(RequestEntityTooLarge):
        ours.form


def test_a_body_cut_short_is_not_read():
    """A client that sends less than its Content-Length went away: nothing of it may count
    (a cut-off Code would count as a wrong check)."""
    for request_class in (flask.Request, FormRequest):
        environ = EnvironBuilder(method="POST", data=b"To=%2B15017122661&Code=123456",
                                 content_type="application/x-www-form-urlencoded").get_environ()
        environ["CONTENT_LENGTH"] = "40"
        with pytest.raises(ClientDisconnected):
            request_class(environ).form


@settings(max_examples=500)
@given(text=st.text(st.sampled_from("ab=&+%2Fé\x00;") | st.characters(), max_size=30))
def test_parse_form_is_parse_qsl(text):
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")


@settings(max_examples=300)
@given(body=st.binary(max_size=40) | st.text(st.sampled_from("ab=&+%2Fé;")).map(str.encode))
def test_any_body_gives_werkzeugs_form(body):
    theirs, ours = forms(body)
    assert list(ours.form.items(multi=True)) == list(theirs.form.items(multi=True))


@pytest.mark.parametrize("query", ["service=VA1&attempt=1", "a=%2B1+2&b&=c&&d=%zz", "x=%C3%A9&y=%E6%9D", "a=1;b=2"])
def test_the_query_is_werkzeugs(query):
    environ = EnvironBuilder(method="POST", query_string=query).get_environ()
    assert list(FormRequest(environ).args.items(multi=True)) == list(flask.Request(environ).args.items(multi=True))


def test_a_query_that_is_not_utf8_stays_percent_encoded():
    """werkzeug fails on it (UnicodeDecodeError: a 500); some servers pass such bytes on."""
    environ = EnvironBuilder(method="GET").get_environ()
    environ["QUERY_STRING"] = "Page=\xff\xfe&service=\xc3\xa9"  # as PEP 3333 passes raw bytes: latin-1
    with pytest.raises(UnicodeDecodeError):
        flask.Request(environ).args
    assert FormRequest(environ).args.to_dict() == {"Page": "%FF%FE", "service": "é"}


@pytest.mark.parametrize("length", ["9" * 5000, "+30", " 30", "3_0", "\u0663\u0660", "", "40"])
def test_an_odd_content_length_is_read_as_werkzeug_reads_it(length):
    """The body is 30 bytes. (int() refuses over 4,300 digits: werkzeug takes that as 0, and so
    must we, not fail.)"""
    def outcome(request):
        request.environ["CONTENT_LENGTH"] = length
        try:
            return list(request.form.items(multi=True))
        except ClientDisconnected:
            return "client disconnected"
    theirs, ours = forms(b"To=%2B15017122661&Code=123456")
    assert outcome(ours) == outcome(theirs)
