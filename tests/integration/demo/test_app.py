"""The reference service as a real process on 127.0.0.1: pages, contact form with CSRF, JSON API, SSE, metrics."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess, run_demo_app

pytestmark = pytest.mark.timeout(60)

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "demo.sqlite3"


@pytest.fixture(scope="module")
def app(db_path: Path) -> Iterator[DemoAppProcess]:
    with run_demo_app("v1.2.3", ["--db", str(db_path), "--sse-interval-ms", "50"]) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: keep cookies set by an IP-address host (127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def rows(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])


async def form_token(http: aiohttp.ClientSession, app: DemoAppProcess) -> str:
    async with http.get(app.url + "/contact") as resp:
        assert resp.status == 200
        page = await resp.text()
    assert '<form id="contact"' in page
    match = TOKEN.search(page)
    assert match, page
    return match.group(1)


async def test_pages_link_to_each_other_and_show_the_version(app: DemoAppProcess, http: aiohttp.ClientSession) -> None:
    for path, others in {"/": ("/about", "/pricing"), "/about": ("/",), "/pricing": ("/about", "/contact")}.items():
        async with http.get(app.url + path) as resp:
            body = await resp.text()
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/html")
            assert resp.headers["X-Greenflag-Version"] == "v1.2.3"
        assert "v1.2.3" in body
        for other in others:
            assert f'href="{other}"' in body
    async with http.get(app.url + "/version") as resp:
        assert (await resp.json())["version"] == "v1.2.3"
    async with http.get(app.url + "/no/such/page") as resp:
        assert resp.status == 404
        assert resp.headers["X-Greenflag-Version"] == "v1.2.3"


async def test_contact_form_with_csrf_is_stored(
    app: DemoAppProcess, http: aiohttp.ClientSession, db_path: Path
) -> None:
    before = rows(db_path)
    for i in range(3):
        token = await form_token(http, app)
        data = {"csrf_token": token, "name": "Ada", "email": f"ada{i}@example.com", "message": f"hello {i}"}
        async with http.post(app.url + "/contact", data=data, allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/contact/thanks"
    async with http.get(app.url + "/contact/thanks") as resp:
        assert resp.status == 200
        assert 'id="thanks"' in await resp.text()
    assert rows(db_path) == before + 3
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    async with http.get(app.url + "/api/contacts") as resp:
        summary = await resp.json()
    assert summary["count"] == before + 3
    assert summary["latest"][0]["email"] == "ada2@example.com"
    assert summary["latest"][0]["version"] == "v1.2.3"


async def test_post_without_or_with_a_wrong_token_is_forbidden(
    app: DemoAppProcess, http: aiohttp.ClientSession, db_path: Path
) -> None:
    token = await form_token(http, app)
    before = rows(db_path)
    fields = {"email": "eve@example.com", "message": "hi"}
    for data in (fields, {**fields, "csrf_token": "0" * 64}, {**fields, "csrf_token": ""}):
        async with http.post(app.url + "/contact", data=data, allow_redirects=False) as resp:
            assert resp.status == 403
            assert '<form id="contact"' in await resp.text()
    # A valid token without the session cookie it is bound to is refused too.
    async with aiohttp.ClientSession() as stranger:
        data = {**fields, "csrf_token": token}
        async with stranger.post(app.url + "/contact", data=data, allow_redirects=False) as resp:
            assert resp.status == 403
    assert rows(db_path) == before


async def test_invalid_fields_re_render_the_form_with_422(
    app: DemoAppProcess, http: aiohttp.ClientSession, db_path: Path
) -> None:
    token = await form_token(http, app)
    before = rows(db_path)
    data = {"csrf_token": token, "email": "not-an-email", "message": "kept <b>text</b>"}
    async with http.post(app.url + "/contact", data=data, allow_redirects=False) as resp:
        assert resp.status == 422
        page = await resp.text()
    assert '<form id="contact"' in page
    assert 'id="error-email"' in page
    assert 'value="not-an-email"' in page
    assert "kept &lt;b&gt;text&lt;/b&gt;" in page
    assert TOKEN.search(page) is not None
    data = {"csrf_token": token, "email": "ok@example.com", "message": "   "}
    async with http.post(app.url + "/contact", data=data, allow_redirects=False) as resp:
        assert resp.status == 422
        assert 'id="error-message"' in await resp.text()
    assert rows(db_path) == before


async def test_json_api(app: DemoAppProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(app.url + "/api/items?page=2") as resp:
        page = await resp.json()
    assert page["page"] == 2 and page["per_page"] == 20 and page["total"] >= 100
    assert [item["id"] for item in page["items"]] == list(range(21, 41))
    async with http.get(app.url + "/api/items/7") as resp:
        assert (await resp.json())["name"] == "Item 7"
    async with http.get(app.url + "/api/items/999999") as resp:
        assert resp.status == 404
    async with http.get(app.url + "/api/items?page=0") as resp:
        assert resp.status == 400
    async with http.post(app.url + "/api/items", json={"name": "Widget", "price_cents": 1299}) as resp:
        assert resp.status == 201
        created = await resp.json()
        location = resp.headers["Location"]
    async with http.get(app.url + location) as resp:
        assert await resp.json() == created
    async with http.post(app.url + "/api/items", json={"name": "", "price_cents": -1}) as resp:
        assert resp.status == 422
        assert set((await resp.json())["errors"]) == {"name", "price_cents"}
    async with http.post(app.url + "/api/items", data=b"{not json", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400


async def read_events(resp: aiohttp.ClientResponse, count: int) -> tuple[list[dict[str, str]], list[str]]:
    """Parse SSE blocks until `count` events (blocks with data); also return the other fields seen."""
    events: list[dict[str, str]] = []
    other: list[str] = []
    block: dict[str, str] = {}
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if line:
            key, _, value = line.partition(":")
            block[key] = value.removeprefix(" ")
            continue
        if "data" in block:
            events.append(block)
        else:
            other.extend(f"{k}: {v}" for k, v in block.items())
        block = {}
        if len(events) >= count:
            break
    return events, other


async def test_sse_ids_retry_and_resume_from_last_event_id(app: DemoAppProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(app.url + "/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert resp.headers["X-Greenflag-Version"] == "v1.2.3"
        events, other = await read_events(resp, 3)
    assert other == ["retry: 1000"]
    assert [e["id"] for e in events] == ["1", "2", "3"]
    assert {e["event"] for e in events} == {"tick"}
    assert '"version": "v1.2.3"' in events[0]["data"]
    async with http.get(app.url + "/events", headers={"Last-Event-ID": events[-1]["id"]}) as resp:
        resumed, _ = await read_events(resp, 2)
    assert [e["id"] for e in resumed] == ["4", "5"]


async def test_sse_limit_ends_the_stream_cleanly(app: DemoAppProcess, http: aiohttp.ClientSession) -> None:
    async with http.get(app.url + "/events?limit=2") as resp:
        body = await resp.text()  # returns only if the server ended the chunked body properly
    assert body.count("event: tick") == 2


async def test_metrics_count_requests_by_path_and_status(app: DemoAppProcess, http: aiohttp.ClientSession) -> None:
    for _ in range(2):
        async with http.get(app.url + "/pricing") as resp:
            await resp.read()
    async with http.get(app.url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    match = re.search(r'greenflag_demo_http_requests_total\{method="GET",path="/pricing",status="200"\} (\S+)', text)
    assert match and float(match.group(1)) >= 2
    assert 'greenflag_demo_build_info{version="v1.2.3"} 1.0' in text
    assert "greenflag_demo_ready 1.0" in text
    assert "greenflag_demo_http_request_duration_seconds_bucket" in text
