"""The `text/event-stream` format (the WHATWG rules), pure: an incremental parser that turns bytes into events, and
what a reconnection carries over (the last event id, the retry delay). `sse.py` runs the streams."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "EventParser", "keep_state"]
__pure__ = True

_LINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Event:
    id: str | None
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class EventParser:
    """Incremental `text/event-stream` parser (the WHATWG rules). Pure: feed bytes, get events."""

    __slots__ = ("data", "decoder", "event", "id", "last_id", "pending", "retry_ms", "skip_lf", "started")

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.skip_lf = False
        self.started = False
        self.data: list[str] = []
        self.event = ""
        self.id: str | None = None
        self.last_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        text = self.decoder.decode(chunk)
        if not self.started and text:
            self.started = True
            text = text.removeprefix("\ufeff")  # a byte order mark at the start of the stream is not data
        if self.skip_lf and text.startswith("\n"):
            text = text[1:]
        self.skip_lf = text.endswith("\r")
        lines = _LINES.split(self.pending + text)
        self.pending = lines.pop()
        out: list[Event] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                out.append(event)
        return out

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id" and "\0" not in value:
            self.id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        self.last_id = self.id
        if not self.data:
            self.event = ""
            return None
        event = Event(self.id, self.event or "message", "\n".join(self.data))
        self.data = []
        self.event = ""
        return event


def keep_state(old: EventParser) -> EventParser:
    """A fresh parser for a new connection that remembers the last event id and retry delay."""
    new = EventParser()
    new.last_id = old.last_id
    new.id = old.last_id
    new.retry_ms = old.retry_ms
    return new
