"""The app's own pages: the one a password reset link opens (`GET /reset-password`).

Plain HTML, one stylesheet and one script, all served from `app/static` by the app: no
CDN, no build step, nothing fetched from another origin. No inline script or style, so the
page works under a strict Content-Security-Policy; it may not be framed (clickjacking).
"""

from functools import cache
from importlib.resources import files

from fastapi import Response
from fastapi.responses import HTMLResponse

from app.routers.common import PrefixedRouter

RESET_PAGE_URL = "/reset-password"

router = PrefixedRouter(prefix=RESET_PAGE_URL, include_in_schema=False)

# Stricter than the policy `app.middleware` gives the docs pages, which need inline
# scripts: this page runs only its own script file. `nosniff` and `no-referrer` come from
# the middleware, as for every response.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    # The page's URL holds the token: keep it out of every cache.
    "Cache-Control": "no-store",
}
ASSET_HEADERS = {"Cache-Control": "no-cache"}


@cache
def static_text(name: str) -> str:
    return (files("app") / "static" / name).read_text(encoding="utf-8")


@router.get("")
async def reset_password_page() -> HTMLResponse:
    """A new-password form for the token in the link (`?token=...`)."""
    return HTMLResponse(static_text("reset-password.html"), headers=PAGE_HEADERS)


@router.get("/script.js")
async def reset_password_script() -> Response:
    return Response(
        static_text("reset-password.js"), media_type="text/javascript", headers=ASSET_HEADERS
    )


@router.get("/style.css")
async def reset_password_style() -> Response:
    return Response(static_text("reset-password.css"), media_type="text/css", headers=ASSET_HEADERS)
