"""The dashboard's routes: the page, the JSON it refreshes from, and its two static files.

Nothing loads from anywhere but this server: the script and style sheet are package files, the
charts are SVG drawn by that script. Every value shown is drawn with ``textContent`` and
``setAttribute`` (never parsed as HTML), and the page's own values are escaped, because model
ids, project tags and guardrail reasons come from callers. The Content-Security-Policy allows
scripts and styles from this origin only, so even a value that slipped through could not run.
"""

from __future__ import annotations

import html
import logging
from importlib.resources import files
from typing import cast, get_args

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gatewise.dashboard.snapshot import (
    DEFAULT_WINDOW,
    MAX_AGE_S,
    WINDOWS,
    DashboardSnapshot,
    DashboardSources,
    Snapshots,
    WindowName,
)

log = logging.getLogger(__name__)

REFRESH_S = 15
MAX_QUERY_BYTES = 256

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_STATIC = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8",
           "favicon.svg": "image/svg+xml"}


class BadQuery(ValueError):
    """A query string the dashboard does not accept; the message says what it does."""


def dashboard_routes(sources: DashboardSources, *, max_age_s: float = MAX_AGE_S) -> list[BaseRoute]:
    """``/dashboard``, ``/dashboard/data`` and ``/dashboard/static/{name}`` (script, style sheet,
    icon), for mounting in a server that puts its own authentication in front. Viewers polling
    within ``max_age_s`` of each other share one snapshot."""
    snapshots = Snapshots(sources, max_age_s=max_age_s)

    async def page(request: Request) -> Response:
        try:
            window = _window(request)
            snapshot = await snapshots.get(window)
        except BadQuery as exc:
            return _error(400, str(exc), html_page=True)
        except Exception:
            log.exception("the dashboard could not read the ledger")
            return _error(503, "the ledger could not be read; see the server log", html_page=True)
        return Response(_render(request, snapshot), media_type="text/html; charset=utf-8", headers=HEADERS)

    async def data(request: Request) -> Response:
        try:
            window = _window(request)
            snapshot = await snapshots.get(window)
        except BadQuery as exc:
            return _error(400, str(exc))
        except Exception:
            log.exception("the dashboard could not read the ledger")
            return _error(503, "the ledger could not be read; see the server log")
        return Response(snapshot.model_dump_json(), media_type="application/json", headers=HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return _error(404, "no such file")
        body = files("gatewise.dashboard").joinpath("static", name).read_bytes()
        return Response(body, media_type=_STATIC[name], headers=HEADERS)

    return [
        Route("/dashboard", page, methods=["GET"], name="dashboard"),
        Route("/dashboard/data", data, methods=["GET"], name="dashboard_data"),
        Route("/dashboard/static/{name}", static, methods=["GET"], name="dashboard_static"),
    ]


def dashboard_app(sources: DashboardSources, *, max_age_s: float = MAX_AGE_S) -> Starlette:
    """The dashboard on its own, unauthenticated: for loopback use and tests."""
    return Starlette(routes=dashboard_routes(sources, max_age_s=max_age_s))


def _window(request: Request) -> WindowName:
    if len(request.url.query.encode()) > MAX_QUERY_BYTES:
        raise BadQuery(f"the query string is longer than {MAX_QUERY_BYTES} bytes")
    unknown = sorted(set(request.query_params) - {"window"})
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0]!r}; the only one is 'window'")
    values = request.query_params.getlist("window")
    if len(values) > 1:
        raise BadQuery("give 'window' once")
    window = values[0] if values else DEFAULT_WINDOW
    if window not in get_args(WindowName):
        raise BadQuery(f"window must be one of {', '.join(WINDOWS)}")
    return cast(WindowName, window)


def _error(status: int, message: str, *, html_page: bool = False) -> Response:
    if html_page:
        body = f"<!doctype html><title>gatewise dashboard</title><p>{html.escape(message)}</p>"
        return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS)
    return JSONResponse({"error": message}, status_code=status, headers=HEADERS)


def _json_for_html(snapshot: DashboardSnapshot) -> str:
    """JSON that can sit inside a <script> data block: no '<', '>' or '&' can end or open a tag."""
    text = snapshot.model_dump_json()
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _render(request: Request, snapshot: DashboardSnapshot) -> str:
    def url(route: str, **params: str) -> str:
        return html.escape(request.url_for(route, **params).path)

    current = ' aria-current="page"'
    picker = "".join(f'<a href="?window={name}"{current if name == snapshot.window else ""}>{name}</a>'
                     for name in WINDOWS)
    return _PAGE.format(
        css=url("dashboard_static", name="dashboard.css"),
        js=url("dashboard_static", name="dashboard.js"),
        icon=url("dashboard_static", name="favicon.svg"),
        data_url=url("dashboard_data"),
        refresh=REFRESH_S,
        label=html.escape(snapshot.label),
        picker=picker,
        data=_json_for_html(snapshot),
    )


# The layout is fixed here; the script fills each [data-part] element from the snapshot.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>gatewise dashboard</title>
<link rel="icon" href="{icon}" type="image/svg+xml">
<link rel="stylesheet" href="{css}">
<script src="{js}" defer></script>
</head>
<body>
<main id="dashboard" data-src="{data_url}" data-refresh-s="{refresh}">
<header>
  <h1>gatewise</h1>
  <nav aria-label="window">{picker}</nav>
  <p class="status"><span data-part="label">{label}</span> · <span data-part="status">loading…</span></p>
</header>
<noscript><p class="notice">The charts need JavaScript; the figures are at
  <a href="{data_url}">{data_url}</a>.</p></noscript>
<section class="kpis" data-part="kpis" aria-label="totals"></section>
<section class="grid">
  <figure class="wide"><figcaption>Spend over time</figcaption><div data-part="spend-series"></div></figure>
  <figure class="wide"><figcaption>Requests and failed attempts over time</figcaption>
    <div data-part="request-series"></div></figure>
  <figure><figcaption>Spend by model</figcaption><div data-part="spend-model"></div></figure>
  <figure><figcaption>Spend by project</figcaption><div data-part="spend-project"></div></figure>
  <figure><figcaption>Latency percentiles by model</figcaption><div data-part="latency-model"></div></figure>
  <figure><figcaption>Error, fallback and cache hit rates by model</figcaption>
    <div data-part="rates-model"></div></figure>
  <figure class="wide"><figcaption>Budgets</figcaption><div data-part="budgets"></div></figure>
  <figure><figcaption>Guardrail blocks and flags by check</figcaption>
    <div data-part="guardrail-checks"></div></figure>
  <figure><figcaption>Recent budget alerts</figcaption><div data-part="alerts"></div></figure>
  <figure class="wide"><figcaption>Recent guardrail events</figcaption>
    <div data-part="guardrail-events"></div></figure>
</section>
<footer data-part="notes"></footer>
</main>
<script type="application/json" id="dashboard-initial">{data}</script>
</body>
</html>
"""
