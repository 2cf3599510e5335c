"""Where an HTTP/1.1 request ends, read from the bytes received so far.

The worker reads each request whole in its loop before a thread serves it (config/workers.py),
so it needs to know when a request is whole: its head up to the blank line, then a body of
`Content-Length` bytes, or chunks up to the last one and its trailers. Only the framing is read
here; gunicorn's parser reads the request itself, and answers what is malformed.
"""
from __future__ import annotations

from verify.form_request import MAX_BODY

MAX_HEAD = 32 * 1024  # a head longer than this is not waited for: gunicorn's parser refuses it
MAX_CHUNK_LINE = 1024  # a chunk's size line (size and extensions)


class Unframed(Exception):
    """The request cannot be read whole within the limits: a body over MAX_BODY, a head over
    MAX_HEAD, or framing gunicorn refuses. What was received is served as it is (the answer is
    a refusal, which needs no more of the request), and the connection then closes."""


def request_end(buffer: bytes | bytearray) -> int | None:
    """The length of the first whole request in `buffer`; None while more is needed. Raises
    Unframed (above)."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        if len(buffer) > MAX_HEAD:
            raise Unframed
        return None
    body_start = head_end + 4
    head = bytes(buffer[:head_end]).lower()
    if b"\r\ntransfer-encoding:" in head:
        if not _field(head, b"transfer-encoding").endswith(b"chunked") or b"\r\ncontent-length:" in head:
            raise Unframed
        return _chunked_end(buffer, body_start)
    if b"\r\ncontent-length:" not in head:
        return body_start
    length = _field(head, b"content-length")
    if not length.isdigit() or len(length) > 9 or head.count(b"\r\ncontent-length:") > 1:
        raise Unframed
    if int(length) > MAX_BODY:
        raise Unframed
    end = body_start + int(length)
    return end if len(buffer) >= end else None


def expects_continue(buffer: bytes | bytearray) -> bool:
    """Whether the request's head (whole in `buffer`) asks for `100 Continue` before its body."""
    head = bytes(buffer[:buffer.find(b"\r\n\r\n")]).lower()
    return b"\r\nexpect:" in head and _field(head, b"expect") == b"100-continue"


def _field(head: bytes, name: bytes) -> bytes:
    """The value of the (first) header `name` in a lowercased head."""
    start = head.find(b"\r\n" + name + b":") + len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start:end if end >= 0 else len(head)].strip(b" \t")


def _chunked_end(buffer: bytes | bytearray, position: int) -> int | None:
    received = 0  # body bytes in chunks received whole
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > MAX_CHUNK_LINE:
                raise Unframed
            return None
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip(b" \t")
        if not size_text or len(size_text) > 8 or size_text.strip(b"0123456789abcdefABCDEF"):
            raise Unframed
        size = int(size_text, 16)
        if size == 0:  # the last chunk; then trailer fields, if any, up to a blank line
            trailers = line_end + 2
            if buffer[trailers:trailers + 2] == b"\r\n":
                return trailers + 2
            end = buffer.find(b"\r\n\r\n", trailers)
            if end < 0:
                if len(buffer) - trailers > MAX_HEAD:
                    raise Unframed
                return None
            return end + 4
        data_end = line_end + 2 + size
        if received + min(size, max(0, len(buffer) - line_end - 2)) > MAX_BODY:
            raise Unframed  # more than a body may hold has arrived: served as it is, and refused
        if len(buffer) < data_end + 2:
            return None
        if buffer[data_end:data_end + 2] != b"\r\n":
            raise Unframed
        received += size
        position = data_end + 2
