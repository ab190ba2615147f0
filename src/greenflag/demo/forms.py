"""The contact form's rules: a CSRF token bound to the session cookie, and field validation. Pure."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

__all__ = [
    "SESSION_COOKIE",
    "ContactSubmission",
    "csrf_token",
    "csrf_valid",
    "new_session_id",
    "session_valid",
    "validate_contact",
]

SESSION_COOKIE = "gf_session"
MAX_EMAIL = 254
MAX_NAME = 200
MAX_MESSAGE = 5000

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclasses.dataclass(frozen=True, slots=True)
class ContactSubmission:
    name: str
    email: str
    message: str


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def session_valid(session: str | None) -> bool:
    return session is not None and _SESSION.fullmatch(session) is not None


def csrf_token(secret: bytes, session: str) -> str:
    """The token for one session: HMAC-SHA256(secret, session). Stateless, so any instance sharing the
    secret accepts it and no request needs the database to check it."""
    return hmac.new(secret, session.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, session: str | None, token: str | None) -> bool:
    if not token or not session_valid(session):
        return False
    assert session is not None
    return hmac.compare_digest(csrf_token(secret, session), token)


def validate_contact(fields: Mapping[str, str]) -> tuple[ContactSubmission | None, dict[str, str]]:
    """The cleaned submission, or None and one message per invalid field."""
    name = fields.get("name", "").strip()
    email = fields.get("email", "").strip()
    message = fields.get("message", "").strip()
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Please enter your email address."
    elif len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
        errors["email"] = "Please enter a valid email address, such as ada@example.com."
    if not message:
        errors["message"] = "Please enter a message."
    elif len(message) > MAX_MESSAGE:
        errors["message"] = f"Please keep the message under {MAX_MESSAGE} characters."
    if len(name) > MAX_NAME:
        errors["name"] = f"Please keep the name under {MAX_NAME} characters."
    if errors:
        return None, errors
    return ContactSubmission(name=name, email=email, message=message), {}
