"""nginx (the Debian package) on loopback for tests: an http block from the test (TLS sites, security headers, a
WAF) inside a minimal nginx.conf, ModSecurity with the OWASP Core Rule Set when asked; started by
`tests.servers.nginx_server`."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from tests.servers import nginx_server

__all__ = ["MODSECURITY_MODULE", "have_crs", "have_nginx", "modsecurity_rules", "nginx"]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MODSECURITY_MODULE = Path("/usr/lib/nginx/modules/ngx_http_modsecurity_module.so")
CRS_SETUP = Path("/etc/modsecurity/crs/crs-setup.conf")
CRS_RULES = Path("/usr/share/modsecurity-crs/rules")
UNICODE_MAP = Path("/etc/nginx/unicode.mapping")


def have_nginx() -> bool:
    return Path(NGINX).exists()


def have_crs() -> bool:
    return have_nginx() and MODSECURITY_MODULE.exists() and CRS_SETUP.exists() and CRS_RULES.is_dir()


def modsecurity_rules(work: Path) -> Path:
    """ModSecurity in blocking mode with the Core Rule Set as Debian ships it (paranoia level 1, anomaly
    threshold 5, 403 on block): the main settings of Debian's modsecurity.conf, with SecRuleEngine On."""
    rules = work / "modsecurity.conf"
    rules.write_text(f"""
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\\+|/)|text/)xml" \
  "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
  "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.'"
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecResponseBodyAccess Off
SecTmpDir {work}
SecDataDir {work}
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
SecUnicodeMapFile {UNICODE_MAP} 20127
Include {CRS_SETUP}
Include {CRS_RULES}/*.conf
""")
    return rules


@contextlib.contextmanager
def nginx(work: Path, http_body: str, ports: list[int], *, modsecurity: bool = False) -> Iterator[Path]:
    """Run nginx with `http_body` inside its http block until every port in `ports` accepts connections."""
    work.mkdir(parents=True, exist_ok=True)
    load = f"load_module {MODSECURITY_MODULE};\n" if modsecurity else ""
    temp = " ".join(f"{kind}_temp_path {work};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = f"""{load}worker_processes 1;
error_log {work}/error.log warn;
pid {work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  {temp}
  {http_body}
}}
"""
    with nginx_server(config, work, ports=ports):
        yield work
