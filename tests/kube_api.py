"""A small fake Kubernetes API server on 127.0.0.1 for the tests — a FAKE, because no cluster can run here.

It implements only what greenflag calls, and checks it the way the real API server would:

- objects under `/api/v1/...` and `/apis/GROUP/VERSION/...`: GET (one object, or a list with an equality
  `labelSelector`), POST (create), PUT (replace), PATCH with `application/merge-patch+json` (RFC 7386; the only
  patch type greenflag sends: strategic merge and JSON patch answer 415), DELETE; `/status` subresources (PUT,
  PATCH) for the emulated controllers. Writes to the object itself leave `status` as it was (status subresource).
- `metadata.resourceVersion` changes on every write; a write carrying a stale one is 409 Conflict, with the
  apiserver's Status body. `interfere(n)` makes another writer change the object just before each of the next n
  conditional writes, so a driver's read-and-retry is exercised. `metadata.generation` counts spec changes.
- Every object written is checked against the shape of its kind (the fields of the real schema that these kinds
  have, their types and bounds): an unknown field or a wrong type is 422 Invalid, naming the field — stricter than
  a real server's default (which drops unknown fields with a warning), so a driver's mistake cannot pass silently.
- A bearer token is required (401 otherwise), as in the kubeconfig `kubeconfig()` writes.
- An emulated gateway controller sets each HTTPRoute's `status.parents` after every write (Accepted, and
  ResolvedRefs False with BackendNotFound for a Service that does not exist), `gateway_delay` seconds later, with
  `observedGeneration`; `gateway = "reject"` refuses routes, `"off"` never reports (no controller).

Kinds are a table (`KINDS`): the kubernetes platform's Deployments are one more entry (their shape check and an
emulated Deployment controller are in tests/kube_deployments.py: `deployments`, `deployment_delay`).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

__all__ = ["KINDS", "FakeKubeApi", "Kind", "httproute", "merge_patch", "service"]

Check = Callable[[dict[str, Any]], list[str]]  # object → problems ("spec.rules[0].backendRefs[1].weight: ...")
_LABEL = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_META = {"name", "namespace", "labels", "annotations", "resourceVersion", "generation", "uid", "creationTimestamp",
         "managedFields", "ownerReferences", "finalizers", "generateName"}  # fmt: skip


def _fields(obj: Any, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: expected an object"]
    problems = [f"{where}.{k}: unknown field" for k in obj if k not in allowed]
    return problems + [f"{where}.{k}: required" for k in required if k not in obj]


def _int(value: Any, where: str, low: int, high: int) -> list[str]:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return [f"{where}: expected an integer {low}-{high}, got {value!r}"]
    return []


def _labels(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a map of strings"]
    return [f"{where}.{k}: invalid label {k!r}={v!r}" for k, v in value.items()
            if not (isinstance(k, str) and _LABEL.fullmatch(k) and isinstance(v, str) and _VALUE.fullmatch(v))]


def _common(obj: dict[str, Any], api_version: str, kind: str, spec_keys: set[str]) -> list[str]:
    problems = _fields(obj, "", {"apiVersion", "kind", "metadata", "spec", "status"}, ("metadata", "spec"))
    if obj.get("apiVersion") != api_version or obj.get("kind") != kind:
        got = f"{obj.get('apiVersion')} {obj.get('kind')}"
        problems.append(f"apiVersion/kind: expected {api_version} {kind}, got {got}")
    problems += _fields(obj.get("metadata"), "metadata", _META, ("name",))
    for key in ("labels", "annotations"):
        if key in (obj.get("metadata") or {}) and not isinstance(obj["metadata"][key], dict):
            problems.append(f"metadata.{key}: expected a map")
    return problems + _fields(obj.get("spec"), "spec", spec_keys)


def check_httproute(obj: dict[str, Any]) -> list[str]:
    """gateway.networking.k8s.io/v1 HTTPRoute: the fields of its schema that routes use."""
    problems = _common(obj, "gateway.networking.k8s.io/v1", "HTTPRoute", {"parentRefs", "hostnames", "rules"})
    spec = obj.get("spec") or {}
    for i, ref in enumerate(spec.get("parentRefs") or []):
        problems += _fields(ref, f"spec.parentRefs[{i}]", {"group", "kind", "namespace", "name", "sectionName",
                                                           "port"}, ("name",))  # fmt: skip
    rules = spec.get("rules") or []
    if not isinstance(rules, list) or len(rules) > 16:
        return [*problems, "spec.rules: expected a list of at most 16 rules"]
    for i, rule in enumerate(rules):
        where = f"spec.rules[{i}]"
        problems += _fields(rule, where, {"name", "matches", "filters", "backendRefs", "timeouts",
                                          "sessionPersistence", "retry"})  # fmt: skip
        refs = (rule or {}).get("backendRefs") or []
        if not isinstance(refs, list) or len(refs) > 16:
            problems.append(f"{where}.backendRefs: expected a list of at most 16")
            continue
        for j, ref in enumerate(refs):
            at = f"{where}.backendRefs[{j}]"
            problems += _fields(ref, at, {"group", "kind", "name", "namespace", "port", "weight", "filters"}, ("name",))
            if not isinstance(ref, dict):
                continue
            if "weight" in ref:
                problems += _int(ref["weight"], f"{at}.weight", 0, 1_000_000)
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") == "":
                problems += _int(ref.get("port"), f"{at}.port", 1, 65535)  # required for a Service
    return problems


def check_service(obj: dict[str, Any]) -> list[str]:
    """v1 Service: selector and ports, as far as greenflag's Services need."""
    spec_keys = {"selector", "ports", "type", "clusterIP", "clusterIPs", "sessionAffinity", "ipFamilies",
                 "ipFamilyPolicy", "internalTrafficPolicy", "externalTrafficPolicy", "publishNotReadyAddresses"}
    problems = _common(obj, "v1", "Service", spec_keys)
    spec = obj.get("spec") or {}
    if "selector" in spec:
        problems += _labels(spec["selector"], "spec.selector")
    for i, port in enumerate(spec.get("ports") or []):
        problems += _fields(port, f"spec.ports[{i}]", {"name", "port", "targetPort", "protocol", "appProtocol",
                                                       "nodePort"}, ("port",))  # fmt: skip
        if isinstance(port, dict):
            problems += _int(port.get("port"), f"spec.ports[{i}].port", 1, 65535)
    return problems


@dataclass(frozen=True)
class Kind:
    prefix: str  # /api/v1, /apis/gateway.networking.k8s.io/v1
    name: str  # HTTPRoute
    check: Check
    controller: Callable[[FakeKubeApi, dict[str, Any]], None] | None = None  # after each write of the object


def _gateway(server: FakeKubeApi, route: dict[str, Any]) -> None:
    server.schedule_gateway(route["metadata"]["namespace"], route["metadata"]["name"])


def _check_deployment(obj: dict[str, Any]) -> list[str]:
    from tests.kube_deployments import check_deployment

    return check_deployment(obj)


def _deployment_controller(server: FakeKubeApi, obj: dict[str, Any]) -> None:
    from tests.kube_deployments import deployment_controller

    deployment_controller(server, obj)


KINDS: dict[str, Kind] = {
    "deployments": Kind("/apis/apps/v1", "Deployment", _check_deployment, _deployment_controller),
    "httproutes": Kind("/apis/gateway.networking.k8s.io/v1", "HTTPRoute", check_httproute, _gateway),
    "services": Kind("/api/v1", "Service", check_service),
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@dataclass
class Request:
    method: str
    path: str
    content_type: str
    body: Any


@dataclass
class FakeKubeApi:
    token: str = "greenflag-test-token"
    gateway: str = "accept"  # accept | reject | off
    gateway_delay: float = 0.05
    deployments: str = "on"  # on | partial | off: the emulated Deployment controller (tests/kube_deployments.py)
    deployment_delay: float = 0.05
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, ns, name) → object
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _interfere: int = 0
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None

    # -- test side (any thread) ---------------------------------------------------------------------------------
    def create(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = self._store(plural, obj["metadata"]["namespace"], None, obj)
        controller = KINDS[plural].controller
        if controller is not None:
            controller(self, stored)
        return copy.deepcopy(stored)

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.objects[(plural, namespace, name)])

    def interfere(self, writes: int) -> None:
        """Another writer changes the object just before each of the next `writes` conditional writes."""
        with self._lock:
            self._interfere = writes

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "greenflag", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "greenflag", "namespace": "shop"}}],
        }))  # fmt: skip
        return path

    # -- the store --------------------------------------------------------------------------------------------
    def _store(self, plural: str, ns: str, old: dict[str, Any] | None, obj: dict[str, Any], *,
               status_only: bool = False) -> dict[str, Any]:  # fmt: skip
        if old is not None and status_only:
            new = copy.deepcopy(old)
            new["status"] = copy.deepcopy(obj.get("status", {}))
        else:
            new = copy.deepcopy(obj)
            meta = new.setdefault("metadata", {})
            meta["namespace"] = ns
            if old is None:
                meta.update(generation=1, uid=f"uid-{next(self._versions)}", creationTimestamp="2026-01-01T00:00:00Z")
            else:
                meta.update({k: old["metadata"][k] for k in ("uid", "creationTimestamp", "generation")})
                new["status"] = copy.deepcopy(old.get("status", {}))
                if new.get("spec") != old.get("spec"):
                    meta["generation"] = old["metadata"]["generation"] + 1
        new["metadata"]["resourceVersion"] = str(next(self._versions))
        self.objects[(plural, ns, new["metadata"]["name"])] = new
        return new

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the server's loop `delay` seconds from now (the emulated controllers' reports)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.call_later, delay, callback)

    def schedule_gateway(self, namespace: str, name: str) -> None:
        if self.gateway != "off" and self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.call_later, self.gateway_delay, self._report, namespace, name)

    def _report(self, namespace: str, name: str) -> None:
        with self._lock:
            route = self.objects.get(("httproutes", namespace, name))
            if route is None or self.gateway == "off":
                return
            generation = route["metadata"]["generation"]
            missing = [r.get("name") for rule in route["spec"].get("rules") or [] for r in rule.get("backendRefs") or []
                       if ("services", namespace, r.get("name")) not in self.objects]  # fmt: skip
            accepted = ("True", "Accepted", "") if self.gateway == "accept" else ("False", "NotAllowedByListeners",
                                                                                   "no listener allows this route")
            resolved = ("False", "BackendNotFound", f"services {missing} not found") if missing else (
                "True", "ResolvedRefs", "")  # fmt: skip
            parents = [{"parentRef": ref, "controllerName": "example.net/fake-gateway", "conditions": [
                {"type": t, "status": s, "reason": r, "message": m, "observedGeneration": generation}
                for t, (s, r, m) in (("Accepted", accepted), ("ResolvedRefs", resolved))]}
                for ref in route["spec"].get("parentRefs") or []]  # fmt: skip
            self._store("httproutes", namespace, route, {**route, "status": {"parents": parents}}, status_only=True)

    # -- HTTP ---------------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        parsed = json.loads(body) if body else None
        self.requests.append(Request(request.method, request.path, request.content_type, parsed))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        match = re.fullmatch(r"(/api/v1|/apis/[^/]+/[^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?(/status)?",
                             request.path)  # fmt: skip
        if match is None or match.group(3) not in KINDS or KINDS[match.group(3)].prefix != match.group(1):
            return _status(404, "NotFound", f"the server could not find the requested resource ({request.path})")
        _, ns, plural, name, status = match.groups()
        with self._lock:
            return self._serve(request, plural, ns, name, bool(status), parsed)

    def _serve(self, request: web.Request, plural: str, ns: str, name: str | None, status: bool,
               body: Any) -> web.Response:  # fmt: skip
        kind = KINDS[plural]
        key = (plural, ns, name or "")
        old = self.objects.get(key)
        if request.method == "GET" and name is None:
            wanted = dict(p.split("=", 1) for p in request.query.get("labelSelector", "").split(",") if "=" in p)
            items = [o for (p, n, _), o in sorted(self.objects.items()) if p == plural and n == ns and all(
                (o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]  # fmt: skip
            return web.json_response({"kind": f"{kind.name}List", "apiVersion": kind.prefix.split("/", 2)[-1],
                                      "metadata": {"resourceVersion": str(next(self._versions))}, "items": items})
        if request.method == "POST" and name is None:
            name = str(((body or {}).get("metadata") or {}).get("name", ""))
            if (plural, ns, name) in self.objects:
                return _status(409, "AlreadyExists", f'{plural} "{name}" already exists')
            return self._write(kind, plural, ns, None, body, 201)
        if old is None:
            return _status(404, "NotFound", f'{plural} "{name}" not found')
        if request.method == "GET":
            return web.json_response(old)
        if request.method == "DELETE":
            del self.objects[key]
            return web.json_response({"kind": "Status", "status": "Success"})
        if request.method == "PATCH":
            if request.content_type != "application/merge-patch+json":
                return _status(415, "UnsupportedMediaType", f"the fake serves merge patches only, not "
                                                            f"{request.content_type}")  # fmt: skip
            new = merge_patch(old, body)
        elif request.method == "PUT":
            new = body
        else:
            return _status(405, "MethodNotAllowed", request.method)
        given = ((body or {}).get("metadata") or {}).get("resourceVersion")
        if given and self._interfere > 0:
            self._interfere -= 1
            old = self._store(plural, ns, old, merge_patch(old, {"metadata": {"annotations": {
                "fake/concurrent-writer": old["metadata"]["resourceVersion"]}}}))  # fmt: skip
        if given and given != old["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": the object has '
                                            "been modified; please apply your changes to the latest version and try "
                                            "again")  # fmt: skip
        return self._write(kind, plural, ns, old, new, 200, status=status)

    def _write(self, kind: Kind, plural: str, ns: str, old: dict[str, Any] | None, new: Any, code: int, *,
               status: bool = False) -> web.Response:  # fmt: skip
        if not isinstance(new, dict):
            return _status(400, "BadRequest", "the body is not a JSON object")
        problems = kind.check(new)
        if old is not None and new.get("metadata", {}).get("name") != old["metadata"]["name"]:
            problems.append("metadata.name: does not match the object's name")
        if problems:
            return _status(422, "Invalid", f'{kind.name} "{new.get("metadata", {}).get("name")}" is invalid: '
                                           + "; ".join(problems))  # fmt: skip
        stored = self._store(plural, ns, old, new, status_only=status)
        if kind.controller is not None and not status:
            kind.controller(self, stored)
        return web.json_response(stored, status=code)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> str:
        ready = threading.Event()
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            self._runner = runner
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Kubernetes API server did not start")
        return self.url

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}, status=code)  # fmt: skip


def service(namespace: str, name: str, selector: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector or {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}


def httproute(namespace: str, name: str, backends: dict[str, int], *, gateway: str = "web") -> dict[str, Any]:
    """An HTTPRoute attached to Gateway `gateway`, one rule forwarding to `backends` (Service → weight)."""
    refs = [{"name": s, "port": 80, "weight": w} for s, w in backends.items()]
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"parentRefs": [{"name": gateway}], "hostnames": ["shop.example.com"],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": refs}]}}
