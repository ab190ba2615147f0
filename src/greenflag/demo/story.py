"""`greenflag demo`: the story on the embedded default — the reference service under scripted load."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.demo.process import run_demo_app
from greenflag.load.app import LoadRequest, prepare
from greenflag.load.runner import run_load, run_sync
from greenflag.load.summary import render_text

__all__ = ["DemoOptions", "run_demo"]

JOURNEYS = Path(__file__).with_name("journeys.py")


@dataclass
class DemoOptions:
    out: Path = Path("out/demo")
    quick: bool = False
    vus: int = 50


def run_demo(options: DemoOptions) -> dict[str, Any]:
    duration = 10.0 if options.quick else 30.0
    print("greenflag demo: starting the reference service v1 on 127.0.0.1 …", flush=True)
    with run_demo_app("v1") as app:
        print(
            f"greenflag demo: v1 is ready at {app.url}; {options.vus} users browse, write to us, call the API "
            f"and watch the live stream for {duration:.0f}s",
            flush=True,
        )
        make, config = prepare(LoadRequest(target=str(JOURNEYS), host=app.url, vus=options.vus, duration=duration))
        result = run_sync(run_load(make, config))
    print(render_text(result.summary), flush=True)
    story = {"ok": result.ok, "load": result.summary}
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "summary.json").write_text(json.dumps(story, indent=2) + "\n")
    print(
        f"\ngreenflag demo: {'the story holds' if result.ok else 'a threshold was crossed'}; "
        f"details in {options.out / 'summary.json'}",
        flush=True,
    )
    return story
