"""The session's models: the cookie jar and case-insensitive headers."""

from __future__ import annotations

from greenflag.load.http.models import CookieJar, Headers
from greenflag.load.http.session import make_tags


def test_cookie_jar_per_host_and_deletion() -> None:
    jar = CookieJar()
    jar.store("127.0.0.1", "gf_session=abc; Path=/; HttpOnly; SameSite=Lax")
    jar.store("127.0.0.1", 'theme="dark"')
    jar.store("example.com", "other=1")
    assert jar.header("127.0.0.1") == "gf_session=abc; theme=dark"
    jar.store("127.0.0.1", "theme=; Max-Age=0")
    assert jar.header("127.0.0.1") == "gf_session=abc"
    assert jar.get("other") == "1" and jar.header("nowhere") is None
    jar.store("127.0.0.1", "garbage-without-equals")
    assert jar.header("127.0.0.1") == "gf_session=abc"


def test_headers_are_case_insensitive_and_tags_sorted() -> None:
    headers = Headers()
    dict.__setitem__(headers, "content-type", "text/html")
    assert headers["Content-Type"] == "text/html" and "CONTENT-TYPE" in headers
    assert headers.get("Location") is None
    assert make_tags("checkout", {"b": 1, "a": "x"}) == (("a", "x"), ("b", "1"), ("step", "checkout"))
    assert make_tags(None, None) == ()
