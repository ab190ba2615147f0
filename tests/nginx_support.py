"""nginx (the Debian package) on loopback for tests: a config from the test, ModSecurity with the OWASP Core Rule
Set when asked, started as a real process and stopped afterwards."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from tests.support import start_process

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


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def nginx(work: Path, http_body: str, ports: list[int], *, modsecurity: bool = False) -> Iterator[Path]:
    """Run nginx with `http_body` inside its http block until every port in `ports` accepts connections."""
    work.mkdir(parents=True, exist_ok=True)
    load = f"load_module {MODSECURITY_MODULE};\n" if modsecurity else ""
    temp = " ".join(f"{kind}_temp_path {work};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = work / "nginx.conf"
    conf.write_text(f"""{load}worker_processes 1;
daemon off;
error_log {work}/error.log warn;
pid {work}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log off;
  {temp}
  {http_body}
}}
""")
    with start_process(
        [NGINX, "-c", str(conf), "-p", str(work)], ready=lambda: all(_listening(p) for p in ports), timeout=60
    ) as proc:
        yield work
        assert proc.poll() is None, (work / "error.log").read_text()[-2000:]
