"""The demo's web server keeps other sites out: what makes a visitor's browser act for them.

Another page the visitor opens may post to the demo (a form can post a file cross-site without
asking first), or link to an uploaded file that would run as a page in the demo's origin. So a
change must come from the page itself, a JSON call must be sent as JSON (which a cross-site page
cannot do without a preflight the server never grants), and an uploaded file is never a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# The page runs only its own script and style sheet; style.css draws with data: images.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# An uploaded file opened on its own runs nothing (the browser's image viewer styles inline).
FILE_POLICY = {
    "attachment": "default-src 'none'; sandbox",
    "inline": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
}
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # never SVG
JSON_POSTS = frozenset({"/api/send", "/api/press", "/api/clock", "/api/lang"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_FETCH_SITES = frozenset({"same-origin", "none"})  # "none": the user typed it or bookmarked it
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def only_from_the_page(refuse: Callable[..., web.Response]) -> Middleware:
    """Refuse what another site makes a visitor's browser send: a change from another origin
    (a form can post a file cross-site without asking first), or a JSON call not sent as JSON
    (a cross-site `text/plain` POST needs no preflight; `application/json` does)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS:
            return await handler(request)
        if not from_own_origin(request):
            return refuse("cross_site", status=403)
        if request.path in JSON_POSTS and request.content_type != "application/json":
            return refuse("json_only", status=415)
        return await handler(request)

    return guard


def from_own_origin(request: web.Request) -> bool:
    """No browser says the request came from elsewhere: Sec-Fetch-Site, when sent, is the
    page's own; Origin, when sent, names the host the request was sent to."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.lower() not in OWN_FETCH_SITES:
        return False
    origin = request.headers.get("Origin")
    return origin is None or same_host(origin, request.host)


def same_host(origin: str, host: str) -> bool:
    """Whether an Origin names `host` (the Host header). Only host and port are compared: a
    proxy in front that ends TLS still matches, and another site differs in one of them."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = ":443" if parts.scheme == "https" else ":80"
    return parts.netloc.lower().removesuffix(default) == host.lower().removesuffix(default)


def media_type(declared: str | None) -> str:
    """An uploader's content type, bare and lower-case; application/octet-stream if odd."""
    bare = (declared or "").split(";", 1)[0].strip().lower()
    return bare if _MEDIA_TYPE.fullmatch(bare) else "application/octet-stream"


def content_disposition(kind: str, name: str | None) -> str:
    """`inline` or `attachment` with the file's name (RFC 6266): an ASCII `filename` for old
    clients and the exact one as `filename*=UTF-8''…` (RFC 8187)."""
    if not name:
        return kind
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    exact = quote(name, safe="!#$&+^`|~")
    return f'{kind}; filename="{fallback}"; ' + f"filename*=UTF-8''{exact}"


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: no content-type sniffing; the page's policy unless the answer has its own."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
