"""Swagger UI and ReDoc that work with no internet access.

Their JavaScript, CSS and favicon are served by the app itself, from the copies shipped in
the `fastapi-offline` package; the pages are FastAPI's own HTML pointed at those copies,
ReDoc without its Google Fonts link. Nothing on these pages is fetched from another origin.
"""

import hashlib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request, Response, status
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")

# ReDoc's sidebar badge ("API docs by Redocly") loads its logo from Redocly's CDN, and no
# option turns the badge off: the bundle is served with that logo swapped for an inline image.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
INLINE_BLANK_IMAGE = (  # a transparent 1x1 GIF
    b"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
)

SWAGGER_UI_PARAMETERS = {
    # Keep the token across page reloads, so a reload does not mean logging in again.
    "persistAuthorization": True,
    "displayRequestDuration": True,
}


@lru_cache(maxsize=1)
def redoc_bundle() -> tuple[bytes, str]:
    """ReDoc's JavaScript with no URL it would fetch from elsewhere, and its ETag."""
    bundle = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
    bundle = bundle.replace(REDOC_CDN_LOGO, INLINE_BLANK_IMAGE)
    return bundle, f'"{hashlib.sha256(bundle).hexdigest()[:32]}"'


def install_docs(app: FastAPI) -> None:
    """Add `/docs`, its OAuth2 redirect page, `/redoc` and the assets they load.

    The app must be created with `docs_url=None, redoc_url=None`, so FastAPI does not add
    its own pages, which load their assets from a CDN.
    """
    missing = [name for name in ASSET_FILES if not (ASSETS_DIR / name).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline does not ship {', '.join(missing)} in {ASSETS_DIR}")

    # Before the mount, so this route serves the bundle in place of the packaged file.
    @app.get(f"{ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    async def redoc_js(request: Request) -> Response:
        bundle, etag = redoc_bundle()
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(bundle, media_type="text/javascript", headers=headers)

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
