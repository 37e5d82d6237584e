"""Response headers that make every page hard to abuse, and the checks on state-changing forms.

Pages get a Content-Security-Policy without inline script (`script-src 'self'`), styles only from
the gateway itself, `frame-ancestors 'none'` (no clickjacking), `form-action` limited to the
gateway and the configured sign-in providers (sign-out ends with a redirect there), a referrer
only within the gateway, no caching. Everything else (JSON, CSV, CSS) gets `nosniff` and a policy
that allows nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import Settings


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_policy(provider_urls: Iterable[str]) -> str:
    form_targets = " ".join(["'self'", *sorted({_origin(u) for u in provider_urls})])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; form-action {form_targets}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    """Adds the headers above to every response (pages and API alike), without overriding a
    policy a route set itself (the art. 10 report keeps its own), but always with frame-ancestors."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app: ASGIApp = app
        self.page_csp = page_policy(i.issuer for i in settings.token_issuers if i.client_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                self._apply(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _apply(self, headers: MutableHeaders) -> None:
        is_page = headers.get("content-type", "").startswith("text/html")
        own = headers.get("content-security-policy")
        if own is None:
            headers["Content-Security-Policy"] = self.page_csp if is_page else OTHER_POLICY
        elif "frame-ancestors" not in own:
            headers["Content-Security-Policy"] = own.rstrip("; ") + "; frame-ancestors 'none'"
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if is_page:
            headers.setdefault("X-Frame-Options", "DENY")
            # Not "no-referrer": with it, browsers send `Origin: null` on form posts.
            headers.setdefault("Referrer-Policy", "same-origin")
            headers.setdefault("Cache-Control", "no-store")


def same_origin(headers: Any, host: str | None) -> bool:
    """A form post from another site (its Origin names another host) is refused before the CSRF
    token is even looked at; browsers that send no Origin are judged by the token alone."""
    origin: str | None = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == host
