"""The reference service's CSRF tokens and contact-form rules (pure)."""

from __future__ import annotations

import pytest

from greenflag.demo.forms import csrf_token, csrf_valid, new_session_id, session_valid, validate_contact


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
