"""What goes into a request head (pure parts of the client): URLs are percent-encoded where encoding can carry
them and refused where it cannot; methods and header names are tokens; nothing makes a malformed head."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.load.http.head import SAFE_TARGET, Target, build_request, encode_target, parse_target

HOST = Target("http", "127.0.0.1", 8080, "/")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://h/a b/ü?q=x y", "/a%20b/%C3%BC?q=x%20y"),
        ("http://h/%41%zz%", "/%41%25zz%25"),  # escapes stay, a lone % is encoded
        ('http://h/"<>\\^`{|}', "/%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ("http://h/a?b=c&d=e/f:g@h", "/a?b=c&d=e/f:g@h"),  # legal as it is: untouched
        ("http://h/x#fragment", "/x"),  # a fragment is never sent
        ("http://h", "/"),
    ],
)
def test_paths_are_percent_encoded(url: str, path: str) -> None:
    assert parse_target(url).path == path


def test_hosts() -> None:
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"
    assert parse_target("http://my_service:81/").host_header == "my_service:81"
    assert parse_target("https://[::1]/").host_header == "[::1]"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h/a\nb", r"control character '\\n' at position 10"),
        ("http://h/a\x00b", "control character"),
        ("http://h\tx/", "control character"),
        ("http://h h/", "is not a domain name or an IP address"),
        ("http://user:pw@h/", "credentials in the URL are not sent"),
        ("ftp://h/", "is not an http:// or https:// URL"),
        ("http://h:99999/", "invalid port"),
    ],
)
def test_urls_that_cannot_be_sent_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_target(url)


@given(st.text(max_size=40))
def test_any_path_gives_a_valid_request_target_or_a_refusal(text: str) -> None:
    try:
        target = parse_target("http://127.0.0.1/" + text)
    except ValueError as exc:
        assert "control character" in str(exc)
        return
    assert SAFE_TARGET.fullmatch(target.path)
    head = build_request("GET", target).split(b"\r\n", 1)[0]
    assert head == b"GET " + target.path.encode("ascii") + b" HTTP/1.1"


@given(st.text(alphabet=st.characters(blacklist_characters="%#", blacklist_categories=("Cc", "Cs")), max_size=30))
def test_encoding_keeps_the_text(text: str) -> None:
    from urllib.parse import unquote

    assert unquote(encode_target("/" + text)) == "/" + text


@pytest.mark.parametrize(
    ("method", "headers", "message"),
    [
        ("GET /x", [], "is not an HTTP method"),
        ("GET", [("X A", "1")], "is not a token"),
        ("GET", [("X-A", "1\r\nX-B: 2")], "contains a line break or NUL"),
        ("GET", [("X-A", "1\x002")], "contains a line break or NUL"),
    ],
)
def test_request_heads_that_would_be_malformed_are_refused(
    method: str, headers: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_request(method, HOST, headers=headers)
    with pytest.raises(ValueError, match="is not a path"):
        build_request("GET", HOST, "/a b")
