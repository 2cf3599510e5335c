"""Where an HTTP/1.1 request ends, read from the bytes received so far.

The worker reads each request whole in its loop before a thread serves it (config/workers.py),
so it needs to know when a request is whole: its head up to the blank line, then a body of
`Content-Length` bytes, or chunks up to the last one and its trailers. Only the framing is read
here; gunicorn's parser reads the request itself, and answers what is malformed.

A request arrives in pieces, a byte at a time from a slow client: `RequestEnd` resumes where it
stopped, so each byte is looked at once and a request costs the loop time in proportion to its
size, however it is cut.
"""
from __future__ import annotations

from verify.form_request import MAX_BODY

MAX_HEAD = 32 * 1024  # a head longer than this is not waited for: gunicorn's parser refuses it
MAX_CHUNK_LINE = 1024  # a chunk's size line (size and extensions)
HEX = b"0123456789abcdefABCDEF"


class Unframed(Exception):
    """The request cannot be read whole within the limits: a body over MAX_BODY, a head over
    MAX_HEAD, or framing gunicorn refuses. What was received is served as it is (the answer is
    a refusal, which needs no more of the request), and the connection then closes."""


class RequestEnd:
    """Where the first request of a growing buffer ends."""
    __slots__ = ("searched", "head", "chunked", "end", "position", "received")

    def __init__(self):
        self.searched = 0  # the head's end is not before this offset
        self.head: bytes | None = None  # the head, lowercased, once whole
        self.chunked = False
        self.end: int | None = None  # where a Content-Length body ends
        self.position = 0  # the next chunk's size line
        self.received = 0  # body bytes in the chunks passed

    def of(self, buffer: bytes | bytearray) -> int | None:
        """The length of the request, once `buffer` holds it whole; None while more is needed.
        `buffer` only grows between calls. Raises Unframed (above)."""
        if self.head is None and not self._head(buffer):
            return None
        if self.chunked:
            return self._chunks(buffer)
        return self.end if len(buffer) >= self.end else None

    def _head(self, buffer: bytes | bytearray) -> bool:
        head_end = buffer.find(b"\r\n\r\n", max(0, self.searched - 3))
        if head_end < 0:
            if len(buffer) > MAX_HEAD:
                raise Unframed
            self.searched = len(buffer)
            return False
        body_start = head_end + 4
        self.head = head = bytes(buffer[:head_end]).lower()
        if b"\r\ntransfer-encoding:" in head:
            if not _field(head, b"transfer-encoding").endswith(b"chunked") or b"\r\ncontent-length:" in head:
                raise Unframed
            self.chunked, self.position = True, body_start
        elif b"\r\ncontent-length:" in head:
            length = _field(head, b"content-length")
            if not length.isdigit() or len(length) > 9 or head.count(b"\r\ncontent-length:") > 1:
                raise Unframed
            if int(length) > MAX_BODY:
                raise Unframed
            self.end = body_start + int(length)
        else:
            self.end = body_start
        return True

    def _chunks(self, buffer: bytes | bytearray) -> int | None:
        while True:
            position = self.position
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                if len(buffer) - position > MAX_CHUNK_LINE:
                    raise Unframed
                return None
            size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip(b" \t")
            if not size_text or len(size_text) > 8 or size_text.strip(HEX):
                raise Unframed
            size = int(size_text, 16)
            if size == 0:  # the last chunk; then trailer fields, if any, up to a blank line
                trailers = line_end + 2
                if buffer[trailers:trailers + 2] == b"\r\n":
                    return trailers + 2
                end = buffer.find(b"\r\n\r\n", max(trailers, self.searched - 3))
                if end < 0:
                    if len(buffer) - trailers > MAX_HEAD:
                        raise Unframed
                    self.searched = len(buffer)
                    return None
                return end + 4
            data_end = line_end + 2 + size
            if self.received + min(size, len(buffer) - line_end - 2) > MAX_BODY:
                raise Unframed  # more than a body may hold has arrived: served as it is, and refused
            if len(buffer) < data_end + 2:
                return None
            if buffer[data_end:data_end + 2] != b"\r\n":
                raise Unframed
            self.received += size
            self.position = data_end + 2


def request_end(buffer: bytes | bytearray) -> int | None:
    """RequestEnd().of(buffer), for a buffer read once."""
    return RequestEnd().of(buffer)


def expects_continue(head: bytes) -> bool:
    """Whether a (lowercased) head asks for `100 Continue` before its body."""
    return b"\r\nexpect:" in head and _field(head, b"expect") == b"100-continue"


def _field(head: bytes, name: bytes) -> bytes:
    """The value of the (first) header `name` in a lowercased head."""
    start = head.find(b"\r\n" + name + b":") + len(name) + 3
    end = head.find(b"\r\n", start)
    return head[start:end if end >= 0 else len(head)].strip(b" \t")
