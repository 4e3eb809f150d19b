"""Whether the bytes read so far hold a whole HTTP/1.1 request (web.request_buffer)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from web.request_buffer import HEAD_BYTES, HEAD_TOO_LONG, MORE, WHOLE, RequestBuffer

HEAD = b"POST /api/v1/recommendations HTTP/1.1\r\nHost: x\r\n"


def state(data: bytes, max_body: int = 1 << 20) -> str:
    return RequestBuffer(data, max_body).state()


def test_a_request_is_whole_with_its_head_and_its_announced_body():
    assert state(b"GET / HTTP/1.1\r\nHost: x\r\n") == MORE
    assert state(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == WHOLE
    request = HEAD + b"Content-Length: 10\r\n\r\n"
    assert state(request + b"12345") == MORE
    assert state(request + b"1234567890") == WHOLE
    assert state(request + b"1234567890GET / HTTP/1.1") == WHOLE  # pipelined after it


def test_a_body_larger_than_the_server_takes_is_handed_over_unread():
    assert state(HEAD + b"content-length:  5000\r\n\r\n", max_body=4000) == WHOLE


def test_chunks_to_the_last_and_its_trailers():
    request = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
    assert state(request + b"5\r\nhello\r\n") == MORE
    assert state(request + b"5\r\nhello\r\n0\r\n") == MORE
    assert state(request + b"5\r\nhello\r\n0\r\n\r\n") == WHOLE
    assert state(request + b"5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n") == WHOLE
    assert state(request + b"zz\r\n") == WHOLE  # malformed: gunicorn's parser refuses it
    assert state(request + b"ffff\r\n" + b"a" * 70_000, max_body=1000) == WHOLE


def test_a_head_past_its_bound_is_too_long():
    assert state(b"GET /" + b"a" * (HEAD_BYTES + 10)) == HEAD_TOO_LONG


@given(st.binary(max_size=400), st.integers(1, 50))
def test_bytes_arriving_in_any_pieces_give_the_same_answer(body, piece):
    request = HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    buffer = RequestBuffer(b"", 1 << 20)
    for start in range(0, len(request), piece):
        assert buffer.state() == MORE
        buffer.add(request[start : start + piece])
    assert buffer.state() == WHOLE
