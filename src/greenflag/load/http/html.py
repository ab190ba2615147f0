"""HTML helpers for journeys: CSS selectors and forms, over selectolax's Lexbor engine (fast, HTML5-correct).

Pure functions of the page text: `select(html, "a.nav")` gives `Element`s; `find_form(html, "form#contact")` gives a
`Form` with every field a browser would send (hidden inputs such as CSRF tokens included) that `Form.fill()`
completes with the journey's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

__all__ = ["Element", "Form", "find_form", "select"]

_NO_VALUE_TYPES = frozenset({"submit", "button", "reset", "image", "file"})


@dataclass(frozen=True)
class Element:
    """One matched element: its tag, attributes, text content and outer HTML."""

    tag: str
    attrs: dict[str, str]
    text: str
    html: str

    def attr(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)


@dataclass
class Form:
    """A form as the browser would submit it: action, method and (name, value) pairs in document order."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        return dict(self.fields)

    def fill(self, values: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        """The fields with `values` replacing (or added after) the page's own; hidden inputs are kept."""
        values = dict(values or {})
        out: list[tuple[str, str]] = []
        for name, value in self.fields:
            if name in values:
                replaced = values.pop(name)
                if replaced is not None:
                    out.append((name, str(replaced)))
            else:
                out.append((name, value))
        out.extend((name, str(value)) for name, value in values.items() if value is not None)
        return out

    def encode(self, values: dict[str, Any] | None = None) -> bytes:
        return urlencode(self.fill(values)).encode()


def _parser(html: str) -> Any:
    from selectolax.lexbor import LexborHTMLParser  # lazy: only journeys that look at HTML pay for the import

    return LexborHTMLParser(html)


def _element(node: Any) -> Element:
    attrs = {str(k): "" if v is None else str(v) for k, v in node.attributes.items()}
    return Element(tag=str(node.tag), attrs=attrs, text=str(node.text(deep=True) or ""), html=str(node.html or ""))


def select(html: str, selector: str) -> list[Element]:
    """Every element matching the CSS selector, in document order. Raises ValueError for a bad selector."""
    try:
        nodes = _parser(html).css(selector)
    except Exception as exc:  # selectolax raises its own error types for selectors it cannot parse
        raise ValueError(f"bad CSS selector {selector!r}: {exc}") from None
    return [_element(node) for node in nodes]


def _field_values(node: Any) -> list[tuple[str, str]]:
    attrs = node.attributes
    name = attrs.get("name")
    if not name or "disabled" in attrs:
        return []
    tag = node.tag
    if tag == "textarea":
        return [(name, str(node.text(deep=True) or ""))]
    if tag == "select":
        options = node.css("option")
        chosen = [o for o in options if "selected" in o.attributes] or options[:1]
        return [(name, str(o.attributes.get("value") or o.text(deep=True) or "")) for o in chosen]
    kind = (attrs.get("type") or "text").lower()
    if kind in _NO_VALUE_TYPES:
        return []
    if kind in ("checkbox", "radio"):
        return [(name, str(attrs.get("value") or "on"))] if "checked" in attrs else []
    return [(name, str(attrs.get("value") or ""))]


def find_form(html: str, selector: str = "form") -> Form | None:
    """The first form matching `selector` (its fields in document order), or None when there is none."""
    try:
        node = _parser(html).css_first(selector)
    except Exception as exc:
        raise ValueError(f"bad CSS selector {selector!r}: {exc}") from None
    if node is None:
        return None
    if node.tag != "form":
        raise ValueError(f"{selector!r} matches a <{node.tag}>, not a <form>")
    fields: list[tuple[str, str]] = []
    for child in node.css("input, textarea, select"):
        fields.extend(_field_values(child))
    attrs = node.attributes
    return Form(action=str(attrs.get("action") or ""), method=str(attrs.get("method") or "get").upper(), fields=fields)
