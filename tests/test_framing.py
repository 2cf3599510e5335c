"""config/framing.py: where a request ends, for requests of every shape, whichever way their
bytes are split; what cannot be read whole within the limits."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.framing import MAX_HEAD, RequestEnd, Unframed, expects_continue, request_end
from verify.form_request import MAX_BODY

names = st.sampled_from([b"Host", b"Accept", b"X-Twilio-Signature", b"User-Agent", b"X-Forwarded-For"])
values = st.binary(min_size=0, max_size=40).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b""))
bodies = st.binary(min_size=0, max_size=3000)


@st.composite
def requests_(draw) -> bytes:
    """A whole HTTP/1.1 request: no body, a Content-Length body, or chunks (with trailers)."""
    method = draw(st.sampled_from([b"GET", b"POST", b"DELETE"]))
    head = [method + b" /v2/Services HTTP/1.1"]
    head += [name + b": " + value for name, value in draw(st.lists(st.tuples(names, values), max_size=6))]
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    body = draw(bodies) if framing != "none" else b""
    if framing == "length":
        head.append(draw(st.sampled_from([b"Content-Length", b"content-length", b"CONTENT-LENGTH"]))
                    + b": " + str(len(body)).encode())
        payload = body
    elif framing == "chunked":
        head.append(b"Transfer-Encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if b > a]
        extension = draw(st.sampled_from([b"", b";name=value"]))
        payload = b"".join(b"%x%s\r\n%s\r\n" % (len(piece), extension, piece) for piece in pieces)
        trailers = draw(st.sampled_from([b"", b"X-Trailer: yes\r\n"]))
        payload += b"0\r\n" + trailers + b"\r\n"
    else:
        payload = b""
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


@given(requests_(), st.binary(max_size=30), st.data())
def test_a_request_ends_where_it_ends_and_not_before(request, after, data):
    assert request_end(request + after) == len(request)  # whatever follows (a pipelined request)
    cut = data.draw(st.integers(0, len(request) - 1))
    assert request_end(request[:cut]) is None  # any part of it: wait for more


def test_a_body_over_the_limit_is_not_waited_for():
    with pytest.raises(Unframed):
        request_end(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1))
    assert request_end(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % MAX_BODY) is None
    chunks = b"".join(b"400\r\n" + b"a" * 1024 + b"\r\n" for _ in range(MAX_BODY // 1024))
    assert request_end(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks) is None
    with pytest.raises(Unframed):  # a byte more than a body may hold
        request_end(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"1\r\nb")
    with pytest.raises(Unframed):  # a chunk announced larger arrives beyond the limit
        request_end(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n" + b"a" * (MAX_BODY + 1))


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: x" + b"y" * MAX_HEAD,  # a head that never ends
    b"POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",  # the chunk longer than said
])
def test_framing_gunicorn_refuses_is_served_as_received(request_bytes):
    """Handed over as it is: gunicorn's parser answers it (400), and the connection closes."""
    with pytest.raises(Unframed):
        request_end(request_bytes)


def test_expect_continue_is_read_from_the_head():
    assert expects_continue(b"post / http/1.1\r\nexpect: 100-continue\r\ncontent-length: 3")
    assert not expects_continue(b"post / http/1.1\r\ncontent-length: 3")


@given(requests_(), st.binary(max_size=30), st.lists(st.integers(1, 400), max_size=40))
def test_a_request_received_in_pieces_ends_where_it_ends(request, after, cuts):
    """Fed as it arrives, however it is cut: None until the request is whole, then its length."""
    whole, end, received = request + after, RequestEnd(), bytearray()
    position = 0
    for size in [*cuts, len(whole)]:
        received += whole[position:position + size]
        position += size
        found = end.of(received)
        if len(received) < len(request):
            assert found is None
        else:
            assert found == len(request)
            break


def test_a_request_dripped_a_byte_at_a_time_is_looked_at_once_per_byte():
    """Resuming where it stopped: 64 KB of one-byte chunks, fed a byte at a time, is quick to
    frame (a rescan per byte would take minutes)."""
    request = (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\na\r\n" * 20000
               + b"0\r\n\r\n")
    end, received = RequestEnd(), bytearray()
    for index in range(len(request)):
        received += request[index:index + 1]
        found = end.of(received)
    assert found == len(request)
