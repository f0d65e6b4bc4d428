"""python -m bot.emulator: the standalone server the benches and the demo start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def test_standalone_server_with_demo_seed(tmp_path: Path) -> None:
    creds = tmp_path / "creds.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.emulator",
            "--port",
            "0",
            "--seed",
            "demo",
            "--credentials",
            str(creds),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        while not creds.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        info = json.loads(creds.read_text())
        assert info["bot_login"] == "isolation-bot[bot]"
        assert info["private_key"].startswith("-----BEGIN")
        with urllib.request.urlopen(info["api_url"] + "/rate_limit") as resp:
            assert json.load(resp)["resources"]["core"]["limit"] == 5000
    finally:
        proc.terminate()
        proc.wait(10)
