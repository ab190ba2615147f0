"""The session's pure parts: URL resolution and default request names."""

from __future__ import annotations

import pytest

from greenflag.load.http.client import parse_target
from greenflag.load.http.session import default_name, resolve_url


def test_resolve_url() -> None:
    base = parse_target("http://127.0.0.1:8080")
    target, url = resolve_url(base, None, "/api/items?page=2")
    assert (target.host, target.port, target.path, url) == (
        "127.0.0.1",
        8080,
        "/api/items?page=2",
        "http://127.0.0.1:8080/api/items?page=2",
    )
    assert resolve_url(base, "http://127.0.0.1:8080/contact", "thanks")[1] == "http://127.0.0.1:8080/thanks"
    assert resolve_url(base, None, "/a?b=1#top")[1] == "http://127.0.0.1:8080/a?b=1"
    assert resolve_url(base, None, "relative")[1] == "http://127.0.0.1:8080/relative"
    assert resolve_url(base, None, "//example.com/x")[0].host == "example.com"
    assert resolve_url(None, None, "https://example.com/x")[0].tls
    with pytest.raises(ValueError, match="no host"):
        resolve_url(None, None, "/x")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://h/api/items/17?x=1", "/api/items/{id}"),
        ("http://h/orders/0123456789abcdef0123/lines", "/orders/{id}/lines"),
        ("http://h/u/123e4567-e89b-12d3-a456-426614174000", "/u/{id}"),
        ("http://h/about", "/about"),
        ("http://h", "/"),
        ("http://h/v2/items", "/v2/items"),
    ],
)
def test_default_request_names_group_ids(url: str, name: str) -> None:
    assert default_name(url) == name
