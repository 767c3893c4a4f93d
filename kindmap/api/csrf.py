"""CSRF tokens for the web pages' form posts, on top of ``SameSite=Strict`` and the same-site check.

Signed in, a page's token is derived from its session cookie (HMAC-SHA-256), so it is per
session, needs no storage, and only a page that could read the HttpOnly cookie's value on the
server could have made it; the token cannot be turned back into the cookie. Before sign-in (the
sign-in, invite and reset forms) a random pre-session cookie stands in for it (a double submit).
Both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

PRE_SESSION_COOKIE = "kindmap_form_csrf"
FIELD = "csrf_token"
REFUSED = "This form is out of date or did not come from this page. Please go back, reload the page and try again."


def token_for(secret: str, *, purpose: str = "session") -> str:
    """The CSRF token that goes with ``secret`` (a session cookie or the pre-session cookie)."""
    return hmac.new(f"kindmap-csrf:{purpose}".encode(), secret.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def matches(secret: str | None, given: str | None, *, purpose: str = "session") -> bool:
    """Whether ``given`` is the token for ``secret`` (false when either is missing)."""
    if not secret or not given or len(given) > 128 or len(secret) > 200:
        return False
    return hmac.compare_digest(token_for(secret, purpose=purpose), given)


def pre_session_token(request: Request, response: Response) -> str:
    """A signed-out form's token, setting (or keeping) the pre-session cookie it is checked against."""
    secret = request.cookies.get(PRE_SESSION_COOKIE)
    if not secret or len(secret) > 100:
        secret = secrets.token_urlsafe(32)
    response.set_cookie(PRE_SESSION_COOKIE, secret, max_age=3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return token_for(secret, purpose="pre-session")


def pre_session_matches(request: Request, given: str | None) -> bool:
    """Whether a signed-out form carries the token of this browser's pre-session cookie."""
    return matches(request.cookies.get(PRE_SESSION_COOKIE), given, purpose="pre-session")
