"""The single-file HTML report (and the live dashboard's page): one document that works offline.

Charts: hand-written SVG in `assets/charts.js` (~300 lines), not a vendored library. The report needs five time
charts on one shared time axis (request rate, latency percentiles, error rate, VUs, router weights as step lines),
with the rollout's steps and the rollback drawn as vertical markers across all of them, plus tables. uPlot (MIT,
~50 KB) would draw the lines faster for 100k points, but a 30-minute run has 1,800 points per series, which SVG
draws in milliseconds; hand-written SVG keeps the page free of third-party code to vendor, licence and update,
and makes the chart its own DOM (`path[data-series][data-points]`), so tests read back what was drawn. The page
and the dashboard load the same script and stylesheet, so they look the same.

The model (greenflag.report.model) is embedded as JSON in a `<script type="application/json">` element with
every `<` escaped, so a request name or an event message cannot close the script; the page writes all text with
`textContent`.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["asset", "page", "render_html"]


def asset(name: str) -> str:
    """A packaged asset (charts.js, report.css) as text."""
    return resources.files("greenflag.report").joinpath("assets", name).read_text(encoding="utf-8")


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def page(title: str, boot: str, *, data: Any = None) -> str:
    """The HTML document: stylesheet and chart script inline, the model as JSON, `boot` run on load."""
    payload = (
        "" if data is None else f'<script type="application/json" id="gf-data">{_json_for_script(data)}</script>\n'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; connect-src 'self'; img-src data:\">\n"
        f"<title>{_escape(title)}</title>\n<style>\n{asset('report.css')}</style>\n</head>\n<body>\n"
        '<main id="gf-root"></main>\n'
        f"{payload}"
        f"<script>\n{asset('charts.js')}</script>\n"
        f"<script>\n{boot}\n</script>\n"
        "</body>\n</html>\n"
    )


def render_html(model: dict[str, Any]) -> str:
    """The report: the model drawn once, no network needed."""
    boot = 'GF.render(document.getElementById("gf-root"), JSON.parse(document.getElementById("gf-data").textContent));'
    return page(str(model.get("title") or "greenflag report"), boot, data=model)
