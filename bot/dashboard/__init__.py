"""The progress dashboard: server-rendered pages (Jinja2), SVG charts, badges and a JSON API.

Mounted on the service's aiohttp app by ``bot.dashboard.routes.setup_routes``; runnable on its
own over a seed file or a store with ``python -m bot.dashboard`` (see bot/dashboard/standalone).
"""
