"""Keep the recorded GitHub exchanges the emulator's fidelity test compares against.

    python tests/emulator/make_recorded_subset.py /work/shared/github/recorded-api \
        tests/data/github/recorded-subset.json

Source: octokit/fixtures, scenarios/api.github.com/*/normalized-fixture.json (MIT), commit cb8bc9d.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEEP = {
    "get-repository": [0],
    "add-labels-to-issue": [0, 1],
    "labels": [0, 1, 2, 3, 4],
    "errors": [0],
    "paginate-issues": [0],
}
HEADERS = ("content-type", "link", "location", "cache-control", "x-github-media-type")


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    out = {}
    for scenario, indexes in KEEP.items():
        exchanges = json.loads((source / f"{scenario}.json").read_text(encoding="utf-8"))
        out[scenario] = [
            {
                "method": exchanges[i]["method"],
                "path": exchanges[i]["path"],
                "body": exchanges[i].get("body"),
                "status": exchanges[i]["status"],
                "response": exchanges[i]["response"],
                "headers": {
                    k: v for k, v in exchanges[i].get("headers", {}).items() if k in HEADERS
                },
            }
            for i in indexes
        ]
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{sum(len(v) for v in out.values())} exchanges -> {target}")


if __name__ == "__main__":
    main()
