"""The SSE event parser: fields, comments, retry, BOM, any chunking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greenflag.load.http.events import Event, EventParser


def test_sse_parser_fields_comments_and_retry() -> None:
    parser = EventParser()
    events = parser.feed(b'retry: 250\n\n: a comment\nid: 7\nevent: tick\ndata: {"a": 1}\n\ndata: x\ndata: y\n\n')
    assert events == [Event("7", "tick", '{"a": 1}'), Event("7", "message", "x\ny")]
    assert events[0].json() == {"a": 1}
    assert parser.retry_ms == 250 and parser.last_id == "7"


def test_sse_parser_skips_a_leading_bom() -> None:
    parser = EventParser()
    assert parser.feed("\ufeffdata: x\n\n".encode()) == [Event(None, "message", "x")]
    assert parser.feed("data: \ufeffy\n\n".encode()) == [Event(None, "message", "\ufeffy")]


def test_sse_parser_crlf_split_across_chunks() -> None:
    parser = EventParser()
    assert parser.feed(b"id: 1\r\ndata: a\r") == []
    assert parser.feed(b"\n\r\n") == [Event("1", "message", "a")]
    assert parser.feed(b"data: b\r\r") == [Event("1", "message", "b")]


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=20))
def test_sse_parser_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    stream = "".join(f"id: {i}\r\nevent: tick\ndata: é{i}\n\n" for i in range(10)).encode()
    parser = EventParser()
    events: list[Event] = []
    position = 0
    for cut in cuts:
        events += parser.feed(stream[position : position + cut])
        position += cut
    events += parser.feed(stream[position:])
    assert events == [Event(str(i), "tick", f"é{i}") for i in range(10)]
