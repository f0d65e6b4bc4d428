"""python -m bot.emulator --port 8765 [--seed demo] [--webhook-url URL] [--credentials FILE]

Serves the emulator until interrupted. With --credentials, the seeded App's id, private key,
webhook secret and installation id are written there as JSON (for a bot process to use).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

from .seed import SEEDS
from .serving import GitHubEmulator


async def _run(args: argparse.Namespace) -> None:
    emu = GitHubEmulator(validate=not args.no_validate)
    emu.webhook_url = args.webhook_url
    info: dict[str, object] = {}
    if args.seed:
        app, inst_id = SEEDS[args.seed](emu)
        info = {
            "app_id": app.id,
            "slug": app.slug,
            "bot_login": app.bot_login,
            "private_key": app.private_key_pem,
            "webhook_secret": app.webhook_secret,
            "installation_id": inst_id,
        }
    async with emu.serve(port=args.port, host="127.0.0.1") as url:
        info["api_url"] = url
        if args.credentials:
            Path(args.credentials).write_text(json.dumps(info, indent=2), encoding="utf-8")
        print(f"GitHub emulator listening on {url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            if emu.validation_errors:
                print("\n".join(emu.validation_errors), file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", choices=sorted(SEEDS), default=None)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--credentials", default=None, help="write the App credentials here")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
