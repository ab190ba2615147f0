"""`greenflag router nginx-config`: a working nginx.conf for a `router.kind: nginx` spec. Pure.

What it holds and why:
- `include` of the upstream file greenflag rewrites (`upstream_file`), and `proxy_pass` through the variable that
  file's header-route map sets (the weighted upstream, or one slot for the route header);
- the status location at `status_url`'s path, answering the live file's generation (read-back), loopback only;
- keep-alive to the upstreams (`proxy_http_version 1.1`, an empty `Connection`), and `proxy_next_upstream error
  timeout` (nginx's default, said out loud): a request whose connection to a version failed goes to another;
- `worker_shutdown_timeout` = `drain_timeout`: after a reload the old workers finish their open requests (and
  streams) for that long;
- with `access_log`: the `greenflag_json` log format greenflag reads per-backend stats from.
"""

from __future__ import annotations

import re

from greenflag.spec import NginxRouterSpec
from greenflag.traffic.nginx_conf import generation_variable, upstream_variable

__all__ = ["LOG_FORMAT", "render_nginx_config"]
__pure__ = True

LOG_FORMAT = (
    'log_format greenflag_json escape=json \'{"t":$msec,"a":"$upstream_addr","s":$status,'
    '"h":"$upstream_header_time","r":$request_time}\';'
)
_PATH = re.compile(r"^[A-Za-z0-9_./@:+-]+$")


def _safe_path(what: str, path: str) -> str:
    if not _PATH.fullmatch(path):
        raise ValueError(f"{what} {path!r}: letters, digits and / . _ - @ : + only (it goes into nginx.conf)")
    return path


def render_nginx_config(
    spec: NginxRouterSpec,
    *,
    listen: str = "127.0.0.1:8000",
    workers: str = "auto",
    pid: str | None = None,
    error_log: str | None = None,
) -> str:
    """nginx.conf for `spec`: clients on `listen`; the status location on `status_url`'s address (a second server
    block when that is not `listen`). Raises ValueError for paths nginx.conf could not hold safely."""
    match = re.fullmatch(r"^http://([^/]+)(/\S*)?$", spec.status_url)
    assert match is not None  # the spec checked it
    status_address, status_path = match.group(1), match.group(2) or "/"
    if not re.fullmatch(r"^/[A-Za-z0-9_./-]*$", status_path):
        raise ValueError(f"router.status_url path {status_path!r}: letters, digits and / . _ - only")
    upstream_file = _safe_path("router.upstream_file", spec.upstream_file)
    lines = ["# nginx.conf written by `greenflag router nginx-config` for router.kind: nginx"]
    if not re.fullmatch(r"^(auto|[1-9][0-9]{0,2})$", workers):
        raise ValueError(f"workers {workers!r}: auto or a number")
    lines.append(f"worker_processes {workers};")
    if pid is not None:
        lines.append(f"pid {_safe_path('pid', pid)};")
    if error_log is not None:
        lines.append(f"error_log {_safe_path('error_log', error_log)} warn;")
    lines += [
        f"worker_shutdown_timeout {max(1, round(spec.drain_timeout))}s;  # old workers finish open requests",
        "events { worker_connections 4096; }",
        "",
        "http {",
        "    access_log off;",
    ]
    if spec.access_log is not None:
        lines.append(f"    {LOG_FORMAT}")
    lines += [
        f"    include {upstream_file};  # greenflag rewrites it on every change",
        "",
        "    server {",
        f"        listen {listen};",
        "        location / {",
        f"            proxy_pass http://{upstream_variable(spec.upstream)};",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $host;",
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "            proxy_next_upstream error timeout;",
    ]
    if spec.access_log is not None:
        lines.append(f"            access_log {_safe_path('router.access_log', spec.access_log)} greenflag_json;")
    lines.append("        }")
    status = [
        f"        location = {status_path} {{  # the generation of the upstream file the workers run",
        "            allow 127.0.0.1;",
        "            allow ::1;",
        "            deny all;",
        "            default_type text/plain;",
        f"            return 200 {generation_variable(spec.upstream)};",
        "        }",
    ]
    if status_address == listen:
        lines += [*status, "    }"]
    else:
        lines += ["    }", "", "    server {", f"        listen {status_address};", *status, "    }"]
    return "\n".join([*lines, "}"]) + "\n"
