"""The reference service's SSE framing (pure)."""

from __future__ import annotations

from greenflag.demo.sse import format_event, parse_last_event_id


def test_sse_framing_and_last_event_id() -> None:
    assert format_event(7, "tick", '{"seq": 7}') == b'id: 7\nevent: tick\ndata: {"seq": 7}\n\n'
    assert parse_last_event_id("41") == 41
    assert parse_last_event_id(" 41 ") == 41
    for junk in (None, "", "abc", "-3", "1.5", "9" * 30):
        assert parse_last_event_id(junk) == 0
