"""The reference service's pure parts: fault decisions, CSRF tokens, form rules, SSE framing, pages, options."""

from __future__ import annotations

import random

import pytest

from greenflag.demo.faults import Faults
from greenflag.demo.forms import csrf_token, csrf_valid, new_session_id, session_valid, validate_contact
from greenflag.demo.options import AppOptions
from greenflag.demo.sse import format_event, parse_last_event_id
from greenflag.demo.templates import Pages, render_contact_form


def test_no_faults_by_default() -> None:
    faults = Faults(AppOptions())
    decision = faults.decide(100.0)
    assert decision.delay_s == 0 and not decision.fail


def test_error_rate_fails_about_that_fraction() -> None:
    faults = Faults(AppOptions(error_rate=0.25), random.Random(7))
    fails = sum(faults.decide(1.0).fail for _ in range(10_000))
    assert 2_300 < fails < 2_700
    assert all(Faults(AppOptions(error_rate=1.0)).decide(0.0).fail for _ in range(100))


def test_latency_with_jitter_stays_within_bounds_and_never_negative() -> None:
    faults = Faults(AppOptions(latency_ms=100, latency_jitter_ms=20), random.Random(1))
    delays = [faults.decide(0.0).delay_s for _ in range(1000)]
    assert min(delays) >= 0.08 and max(delays) <= 0.12
    assert max(delays) - min(delays) > 0.03
    jitter_only = Faults(AppOptions(latency_jitter_ms=50), random.Random(2))
    assert min(jitter_only.decide(0.0).delay_s for _ in range(200)) == 0.0


def test_faults_wait_for_start_up_and_faults_after_s() -> None:
    faults = Faults(AppOptions(error_rate=1.0, latency_ms=10, faults_after_s=30))
    assert not faults.decide(None).fail  # start-up work not done yet
    assert not faults.decide(29.9).fail
    assert faults.decide(29.9).delay_s == 0
    assert faults.decide(30.0).fail
    assert faults.decide(30.0).delay_s == pytest.approx(0.01)


def test_crash_after_counts_requests() -> None:
    faults = Faults(AppOptions(crash_after=2))
    assert [faults.count_request() for _ in range(4)] == [False, False, True, True]
    never = Faults(AppOptions())
    assert not any(never.count_request() for _ in range(1000))
    assert Faults(AppOptions(crash_after=0)).count_request()


def test_csrf_token_is_bound_to_session_and_secret() -> None:
    session, other = new_session_id(), new_session_id()
    assert session != other and session_valid(session)
    token = csrf_token(b"k", session)
    assert csrf_valid(b"k", session, token)
    assert not csrf_valid(b"k", other, token)
    assert not csrf_valid(b"other key", session, token)
    assert not csrf_valid(b"k", None, token)
    assert not csrf_valid(b"k", session, None)
    assert not csrf_valid(b"k", session, "")
    assert not csrf_valid(b"k", "short", csrf_token(b"k", "short"))


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"email": "a@example.com", "message": "hi"}, set()),
        ({"email": " a.b+c@mail.example.org ", "message": " hi ", "name": "Ada"}, set()),
        ({"email": "", "message": "hi"}, {"email"}),
        ({"email": "nope", "message": "hi"}, {"email"}),
        ({"email": "a@b", "message": "hi"}, {"email"}),
        ({"email": "a b@example.com", "message": "hi"}, {"email"}),
        ({"email": "a@example.com", "message": "   "}, {"message"}),
        ({"email": "a@example.com", "message": "x" * 5001}, {"message"}),
        ({"email": "a@example.com", "message": "hi", "name": "n" * 201}, {"name"}),
        ({}, {"email", "message"}),
    ],
)
def test_contact_validation(fields: dict[str, str], bad: set[str]) -> None:
    submission, errors = validate_contact(fields)
    assert set(errors) == bad
    assert (submission is None) == bool(bad)
    if submission is not None:
        assert submission.email == fields["email"].strip()
        assert submission.message == fields["message"].strip()


def test_sse_framing_and_last_event_id() -> None:
    assert format_event(7, "tick", '{"seq": 7}') == b'id: 7\nevent: tick\ndata: {"seq": 7}\n\n'
    assert parse_last_event_id("41") == 41
    assert parse_last_event_id(" 41 ") == 41
    for junk in (None, "", "abc", "-3", "1.5", "9" * 30):
        assert parse_last_event_id(junk) == 0


def test_pages_carry_the_version_and_the_contact_token() -> None:
    pages = Pages("v9<x>")
    for name in ("home", "about", "pricing", "thanks"):
        assert b'<span id="version">v9&lt;x&gt;</span>' in pages.static[name]
    token = "ab" * 32
    body = pages.contact(token)
    assert f'name="csrf_token" value="{token}"'.encode() in body
    assert body == render_contact_form("v9<x>", token, {}, {})
    again = render_contact_form("v1", token, {"email": '"><script>'}, {"email": "bad <email>"})
    assert b"&quot;&gt;&lt;script&gt;" in again and b"bad &lt;email&gt;" in again and b"<script>" not in again


def test_options_problems_name_the_option() -> None:
    assert AppOptions().problems() == []
    problems = AppOptions(
        version="a b", port=70000, error_rate=1.5, latency_ms=-1, sse_interval_ms=0, crash_after=-2
    ).problems()
    for option in ("--version", "--port", "--error-rate", "--latency-ms", "--sse-interval-ms", "--crash-after"):
        assert any(p.startswith(option) for p in problems), (option, problems)
    assert AppOptions(error_rate=float("nan")).problems()
