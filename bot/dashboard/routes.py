"""HTTP routes of the dashboard, mounted on the service's app by ``setup_routes(app)``.

Pages: ``/`` (metrics, trend charts, recent changes, module table: ``?sort=&order=&filter=&q=``),
``/modules/<name>``. JSON: ``/api/progress``, ``/api/modules`` (docs/api.md). Badges:
``/badge/<metric>.svg`` (``?variant=stdlib``). The data come from ``app[SOURCE_KEY]``: the store
the service passes to ``setup_routes(app, db)``, or a source set by tests / the standalone
runner. Settings: ``app[SETTINGS_KEY]`` (the service passes its own to ``setup_routes``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.dashboard import rules as rule_pages
from bot.dashboard import views
from bot.dashboard.templating import STATIC_DIR, STATIC_PREFIX, render
from bot.store.db import Database
from bot.summary.assemble import tracked_repo
from bot.summary.source import ProgressSource, StoreSource

log = logging.getLogger(__name__)

SOURCE_KEY = web.AppKey("isolation_bot_dashboard_source", object)
SETTINGS_KEY = web.AppKey("isolation_bot_dashboard_settings", object)
# A clock for tests (what "now" is decides the current week); wall time when absent.
CLOCK_KEY = web.AppKey("isolation_bot_dashboard_clock", object)
# Short caching: the data change on pushes, a minute of staleness is fine for people and
# protects the store from badge-heavy READMEs.
CACHE_CONTROL = "public, max-age=60"


def _lookup(app: web.Application, name: str) -> Any:
    """A value the service keeps on its app under ``name`` (plain key or an AppKey of that
    name), or None."""
    for key in list(app.keys()):
        key_name = key if isinstance(key, str) else getattr(key, "_name", None)
        if key_name == name or (isinstance(key_name, str) and key_name.endswith("." + name)):
            return app[key]
    return None


def _settings(request: web.Request) -> Settings:
    app = request.app
    value = app.get(SETTINGS_KEY) or _lookup(app, "settings")
    return value if isinstance(value, Settings) else Settings()


def _source(request: web.Request) -> ProgressSource:
    app = request.app
    source = app.get(SOURCE_KEY)
    if source is not None:
        return source  # type: ignore[return-value]
    db = _lookup(app, "db")
    if db is None:
        raise web.HTTPServiceUnavailable(text="the dashboard has no store configured")
    return StoreSource(db)


def _now(request: web.Request) -> datetime:
    clock = request.app.get(CLOCK_KEY)
    return clock() if callable(clock) else datetime.now(UTC)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": CACHE_CONTROL},
    )


def _error_page(request: web.Request, status: int, heading: str, message: str) -> web.Response:
    repo = tracked_repo(_settings(request))
    body = render("error.html", repo=repo, status=status, heading=heading, message=message)
    return _html(body, status)


async def index(request: web.Request) -> web.Response:
    try:
        query = views.TableQuery.parse(request.query)
    except views.BadQuery as exc:
        return _error_page(request, 400, "Bad request", str(exc))
    ctx = await views.dashboard_context(_source(request), _settings(request), query, _now(request))
    return _html(render("index.html", **ctx))


async def module_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    ctx = await views.module_context(_source(request), _settings(request), name)
    if ctx is None:
        return _error_page(request, 404, "Not found", f"No module named {name!r} was seen.")
    return _html(render("module.html", **ctx))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": CACHE_CONTROL})


async def api_progress(request: web.Request) -> web.Response:
    return _json(await views.progress_json(_source(request), _settings(request), _now(request)))


async def api_modules(request: web.Request) -> web.Response:
    try:
        query = views.TableQuery.parse(request.query)
    except views.BadQuery as exc:
        return _json({"error": str(exc)}, 400)
    return _json(await views.modules_json(_source(request), _settings(request), query))


async def badge(request: web.Request) -> web.Response:
    from bot.dashboard.charts import badge_svg

    settings = _settings(request)
    slug = request.match_info["metric"]
    variant = request.query.get("variant", "all")
    # The newest metrics only (badges are fetched often; no need to decode a whole snapshot).
    (summary,) = await _source(request).metrics_at(tracked_repo(settings), [views.END_OF_TIME])
    try:
        label, message, color = views.badge_values(summary, slug, variant)
    except views.BadQuery as exc:
        return web.Response(text=str(exc), status=404)
    return web.Response(
        text=badge_svg(label, message, color),
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def rules_index(request: web.Request) -> web.Response:
    return rule_pages.rules_index(tracked_repo(_settings(request)))


async def rule_page(request: web.Request) -> web.Response:
    return rule_pages.rule_page(request.match_info["rule"], tracked_repo(_settings(request)))


def setup_routes(
    app: web.Application, db: Database | None = None, settings: Settings | None = None
) -> None:
    """Mount the dashboard on ``app`` (the service's, or a standalone one). ``db``: the store
    to read (the service passes its own); without it, ``app[SOURCE_KEY]`` or ``app["db"]``.
    ``settings``: links and the tracked repository (default: ``app[SETTINGS_KEY]``)."""
    if db is not None and SOURCE_KEY not in app:
        app[SOURCE_KEY] = StoreSource(db)
    if settings is not None and SETTINGS_KEY not in app:
        app[SETTINGS_KEY] = settings
    app.router.add_get("/", index, name="dashboard-index")
    app.router.add_get("/modules/{name}", module_page, name="dashboard-module")
    app.router.add_get("/api/progress", api_progress, name="api-progress")
    app.router.add_get("/api/modules", api_modules, name="api-modules")
    app.router.add_get("/badge/{metric}.svg", badge, name="dashboard-badge")
    app.router.add_get("/rules", rules_index, name="rules-index")
    app.router.add_get("/rules/{rule}", rule_page, name="rules-page")
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="dashboard-static")
