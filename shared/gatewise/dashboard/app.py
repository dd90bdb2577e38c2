"""The dashboard's routes: the page, the JSON it refreshes from, and its script, style sheet and icon.

Nothing loads from anywhere but this server: the script and style sheet are package files, the
charts are SVG drawn by that script. Every value shown is drawn with ``textContent`` and
``setAttribute`` (never parsed as HTML), and the page's own values are escaped, because model
ids, project tags, caller names and guardrail reasons come from callers. The Content-Security-Policy allows
scripts and styles from this origin only, so even a value that slipped through could not run.
"""

from __future__ import annotations

import html
import logging
from importlib.resources import files
from typing import cast, get_args
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gatewise.caller import CALLER
from gatewise.dashboard.snapshot import (
    DEFAULT_WINDOW,
    WINDOWS,
    DashboardSnapshot,
    DashboardSources,
    Snapshots,
    WindowName,
)
from gatewise.mcpkit.http_access import is_loopback

log = logging.getLogger(__name__)

MAX_QUERY_BYTES = 256
HTML = "text/html; charset=utf-8"

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


class Refused(ValueError):
    """A request the dashboard does not answer; the message says why (never a secret or a path)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def dashboard_routes(sources: DashboardSources, *, max_age_s: float | None = None) -> list[BaseRoute]:
    """``/dashboard``, ``/dashboard/data`` and ``/dashboard/static/{name}`` (script, style sheet,
    icon), for mounting in a server that puts its own authentication in front. Viewers polling
    within ``max_age_s`` of each other (by default a third of the window's refresh interval)
    share one snapshot."""
    snapshots = Snapshots(sources, max_age_s=max_age_s)
    assets = {name: files("gatewise.dashboard").joinpath("static", name).read_bytes() for name in _STATIC}

    async def answer(request: Request, *, html_page: bool) -> Response:
        try:
            _check_access(request)
            snapshot = await snapshots.get(_window(request))
        except Refused as exc:
            return _error(exc.status, str(exc), html_page=html_page)
        except Exception:
            log.exception("the dashboard could not read the ledger")
            return _error(503, "the ledger could not be read; see the server log", html_page=html_page)
        if html_page:
            return Response(_render(request, snapshot), media_type=HTML, headers=HEADERS)
        return Response(snapshot.model_dump_json(), media_type="application/json", headers=HEADERS)

    async def page(request: Request) -> Response:
        return await answer(request, html_page=True)

    async def data(request: Request) -> Response:
        return await answer(request, html_page=False)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return _error(404, "no such file")
        return Response(assets[name], media_type=_STATIC[name], headers=HEADERS)

    return [
        Route("/dashboard", page, methods=["GET"], name="dashboard"),
        Route("/dashboard/data", data, methods=["GET"], name="dashboard_data"),
        Route("/dashboard/static/{name}", static, methods=["GET"], name="dashboard_static"),
    ]


def dashboard_app(sources: DashboardSources, *, max_age_s: float | None = None) -> Starlette:
    """The dashboard on its own, unauthenticated: for loopback use and tests."""
    return Starlette(routes=dashboard_routes(sources, max_age_s=max_age_s))


def _check_access(request: Request) -> None:
    """Without authentication in front (gatewise serve then binds loopback only), only loopback
    Host names are answered: a web page that points its own name at 127.0.0.1 (DNS rebinding)
    must not read the figures. A caller whose token bills one project would see every project's
    spend here, so it is refused."""
    caller = CALLER.get()
    if caller is None:
        if not _loopback_host(request.headers.get("host", "")):
            raise Refused(421, "without authentication the dashboard answers loopback addresses only")
    elif caller.project is not None:
        raise Refused(403, f"this token is bound to project {caller.project!r}, and the dashboard shows "
                           "every project's spend; use a token without a project")


def _loopback_host(host: str) -> bool:
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    return name is not None and is_loopback(name)


def _window(request: Request) -> WindowName:
    if len(request.url.query.encode()) > MAX_QUERY_BYTES:
        raise Refused(400, f"the query string is longer than {MAX_QUERY_BYTES} bytes")
    unknown = sorted(set(request.query_params) - {"window"})
    if unknown:
        raise Refused(400, f"unknown parameter {unknown[0][:32]!r}; the only one is 'window'")
    values = request.query_params.getlist("window")
    if len(values) > 1:
        raise Refused(400, "give 'window' once")
    window = values[0] if values else DEFAULT_WINDOW
    if window not in get_args(WindowName):
        raise Refused(400, f"window must be one of {', '.join(WINDOWS)}")
    return cast(WindowName, window)


def _error(status: int, message: str, *, html_page: bool = False) -> Response:
    if html_page:
        body = f"<!doctype html><title>gatewise dashboard</title><p>{html.escape(message)}</p>"
        return Response(body, status_code=status, media_type=HTML, headers=HEADERS)
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
        refresh=f"{WINDOWS[snapshot.window].refresh_s:g}",
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
  <figure><figcaption>Spend by caller</figcaption><div data-part="spend-caller"></div></figure>
  <figure><figcaption>Latency percentiles by model</figcaption><div data-part="latency-model"></div></figure>
  <figure><figcaption>Error, fallback and cache hit rates by model</figcaption>
    <div data-part="rates-model"></div></figure>
  <figure><figcaption>Guardrail blocks and flags by check</figcaption>
    <div data-part="guardrail-checks"></div></figure>
  <figure class="wide"><figcaption>Budgets</figcaption><div data-part="budgets"></div></figure>
  <figure class="wide"><figcaption>Recent budget alerts</figcaption><div data-part="alerts"></div></figure>
  <figure class="wide"><figcaption>Recent guardrail events</figcaption>
    <div data-part="guardrail-events"></div></figure>
</section>
<footer data-part="notes"></footer>
</main>
<script type="application/json" id="dashboard-initial">{data}</script>
</body>
</html>
"""
