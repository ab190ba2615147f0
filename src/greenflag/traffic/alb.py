"""`AlbRouter`: the Router driver for an AWS Application Load Balancer (`router.kind: alb`, the `[aws]` extra).

    router = make_router(spec.router)   # AlbRouterSpec: region, listener_arn, target_groups {blue: ARN, green: ARN}

- **Weights**: every `apply` writes a forward action naming every configured target group (a backend not named gets
  0) with ModifyListener (or ModifyRule, with `rule_arn`), then reads it back with DescribeListeners (DescribeRules):
  what the ALB holds is what `apply` returns, or it raises `AlbError`. Weights are ALB weights (0-999), written as
  given. All weights 0 is a fixed-response 503 (`alb_actions.py`).
- **Slots**: the target groups are fixed slots. `set_backends` (name → http://HOST:PORT) finds, for each backend,
  the target group its address is registered in (DescribeTargetHealth): registering a version's targets is the
  platform's job, or the user's infrastructure's (an ECS service, an Auto Scaling group). A backend named like a
  slot takes that slot. Backends in one slot share its weight (instances of one version: `v2-0`, `v2-1`). A slot
  no backend holds any more gets weight 0.
- **Target health** (`HealthReporter`): a backend is ready when every target of it is `healthy`; the rollout's
  readiness gate waits for it besides its own probes.
- **Drain** (`DrainTimes`): each target group's `deregistration_delay.timeout_seconds`; the rollout stops a version
  only that long after its target group lost its traffic.
- **Test listener** (`test_listener_arn`, `HeaderRouting`): CodeDeploy's test traffic route. `set_header_route(v)`
  forwards 100 % of the test listener to v's target group (smoke tests in `after_allow_test_traffic` reach the new
  version there before it takes production traffic); unpinned, the test listener carries the production weights.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from greenflag.spec import AlbRouterSpec
from greenflag.traffic.alb_actions import check_alb, forward_weights, same_traffic, target_group_name, with_weights
from greenflag.traffic.alb_api import ActionOwner, AlbError, ElbApi, TargetState
from greenflag.traffic.base import BackendHealth, Weights

__all__ = ["AlbError", "AlbRouter", "AlbTestListenerRouter", "make_alb_router"]

DRAIN_ATTRIBUTE = "deregistration_delay.timeout_seconds"
AWS_DEFAULT_DRAIN_S = 300.0  # a target group without the attribute (AWS's default delay)
_URL = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})/?")


def _address(name: str, url: str) -> str:
    match = _URL.fullmatch(url)
    if match is None:
        raise ValueError(f"{name}: {url!r}: expected http://HOST:PORT")
    return f"{match.group(1).strip('[]')}:{int(match.group(2))}"


def _version(name: str) -> str:
    """`v2` for the instance backends `v2-0`, `v2-1` (and for `v2` itself)."""
    base, _, index = name.rpartition("-")
    return base if base and index.isdigit() else name


class AlbRouter:
    """Router, BackendManager, HealthReporter and DrainTimes over one listener's (or rule's) forward action."""

    def __init__(self, spec: AlbRouterSpec, *, api: ElbApi | None = None) -> None:
        check_alb(spec)
        self.spec = spec
        self.api = api or ElbApi(spec)
        self.slots = dict(spec.target_groups)  # slot (greenflag name) → target group ARN
        self.names: dict[str, str] = {slot: slot for slot in self.slots}  # backend name → slot
        self.addresses: dict[str, str] = {}  # backend name → the registered target (ID:PORT) it was found by
        self.production = ActionOwner(spec.rule_arn or spec.listener_arn, rule=spec.rule_arn is not None)
        self._last: dict[str, int] = {}  # the weights per backend name last applied (names sharing a slot)

    # -- weights ---------------------------------------------------------------------------------------------
    def _complete(self, weights: Weights) -> dict[str, int]:
        for name, value in weights.items():
            if name not in self.names:
                raise ValueError(f"unknown backend {name!r} (known: {', '.join(self.names)})")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"weight of {name!r} must be a non-negative integer, got {value!r}")
        return {name: int(weights.get(name, 0)) for name in self.names}

    def _by_arn(self, wanted: dict[str, int]) -> dict[str, int]:
        out = dict.fromkeys(self.slots.values(), 0)
        for name, weight in wanted.items():
            out[self.slots[self.names[name]]] += weight
        return out

    def _by_name(self, by_arn: dict[str, int]) -> Weights:
        held: dict[str, list[str]] = {}
        for name, slot in self.names.items():
            held.setdefault(slot, []).append(name)
        out: Weights = {}
        for slot, arn in self.slots.items():
            weight, names = by_arn.get(arn, 0), sorted(held.get(slot, []))
            if not names:
                if weight:  # a slot greenflag no longer uses still takes traffic: show it
                    out[slot if slot not in self.names else target_group_name(arn)] = weight
                continue
            last = {n: self._last.get(n, 0) for n in names}
            if sum(last.values()) == weight:
                out.update(last)
            else:
                share, extra = divmod(weight, len(names))
                out.update({n: share + (1 if i < extra else 0) for i, n in enumerate(names)})
        for arn, weight in by_arn.items():
            if weight and arn not in self.slots.values():
                out[target_group_name(arn)] = weight
        return out

    async def _read(self, owner: ActionOwner) -> tuple[list[dict[str, Any]], dict[str, int]]:
        actions = await self.api.actions(owner)
        try:
            return actions, forward_weights(actions)
        except ValueError as exc:
            raise AlbError(f"ALB {owner.label}: {exc}") from None

    async def _write(self, owner: ActionOwner, by_arn: dict[str, int]) -> None:
        """Make `owner` forward by `by_arn` (unless it already does), then read it back."""
        actions, current = await self._read(owner)
        if current != by_arn and not (current == {} and not any(by_arn.values())):
            await self.api.set_actions(owner, with_weights(actions, by_arn))
            _, after = await self._read(owner)
            if not same_traffic(after, by_arn):
                wanted = {target_group_name(a): w for a, w in by_arn.items()}
                seen = {target_group_name(a): w for a, w in after.items()}
                raise AlbError(f"ALB {owner.label} did not take the weights: asked {wanted}, reads back {seen}")

    async def observe(self) -> Weights | None:
        _, by_arn = await self._read(self.production)
        return self._by_name(by_arn)

    async def apply(self, weights: Weights) -> None:
        wanted = self._complete(weights)
        by_arn = self._by_arn(wanted)
        with_weights([{"Type": "forward"}], by_arn)  # ValueError for weights beyond 999, before anything is written
        await self._write(self.production, by_arn)
        self._last = wanted
        await self._follow(by_arn)

    async def _follow(self, by_arn: dict[str, int]) -> None:
        """After a production change (the test listener follows it while unpinned)."""
        return None

    async def reset(self, stable: str | None = None) -> None:
        if stable is not None:
            await self.apply({stable: 100})
        elif self.spec.weights:
            await self.apply({n: w for n, w in self.spec.weights.items() if n in self.names})
        else:
            await self.apply(await self.observe() or {})
        await self._clear_header_route()

    async def _clear_header_route(self) -> None:
        return None

    async def aclose(self) -> None:
        self.api.close()

    # -- BackendManager ----------------------------------------------------------------------------------------
    async def _registered(self) -> dict[str, list[TargetState]]:
        return {slot: await self.api.targets(arn) for slot, arn in self.slots.items()}

    async def set_backends(self, backends: dict[str, str]) -> None:
        """Point each backend at the target group its address is registered in (or the slot of its name)."""
        addresses = {name: _address(name, url) for name, url in backends.items()}
        registered = await self._registered()
        mapping: dict[str, str] = {}
        found: dict[str, str] = {}
        for name, address in addresses.items():
            slots = [s for s, targets in registered.items() if any(t.address == address for t in targets)]
            if len(slots) > 1:
                raise ValueError(f"{name}: {address} is a target of several target groups ({', '.join(slots)})")
            if slots:
                mapping[name], found[name] = slots[0], address
            elif name in self.slots:
                mapping[name] = name
            else:
                raise ValueError(
                    f"{name}: {address} is not a registered target of router.target_groups "
                    f"({', '.join(self.slots)}); register the version's targets in a free target group"
                )
        versions: dict[str, set[str]] = {}
        for name, slot in mapping.items():
            versions.setdefault(slot, set()).add(_version(name))
        shared = {slot: sorted(v) for slot, v in versions.items() if len(v) > 1}
        if shared:
            slot, names = next(iter(shared.items()))
            raise ValueError(f"{' and '.join(names)} are all in target group {slot}: one version per target group")
        released = {self.slots[s] for s in self.names.values()} - {self.slots[s] for s in mapping.values()}
        self.names, self.addresses = mapping, found
        self._last = {n: w for n, w in self._last.items() if n in mapping}
        _, current = await self._read(self.production)
        if any(current.get(arn, 0) for arn in released):  # a slot given up takes no traffic
            by_arn = {arn: (0 if arn in released else current.get(arn, 0)) for arn in self.slots.values()}
            await self._write(self.production, by_arn)
            await self._follow(by_arn)

    # -- target health and drain -------------------------------------------------------------------------------
    async def backend_health(self, backends: dict[str, str] | None = None) -> dict[str, BackendHealth]:
        """Per backend: its registered target's state (found by address), or every target of its slot."""
        registered = await self._registered()
        wanted: dict[str, tuple[str | None, str | None]] = {}
        if backends is None:
            wanted = {name: (slot, self.addresses.get(name)) for name, slot in self.names.items()}
        for name, url in (backends or {}).items():
            address: str | None = _address(name, url)
            slot = next((s for s, ts in registered.items() if any(t.address == address for t in ts)), None)
            if slot is None and name in self.slots:
                slot, address = name, None
            wanted[name] = (slot, address)
        out = {}
        for name, (slot, address) in wanted.items():
            if slot is None:
                out[name] = BackendHealth(name, False, "not a registered target of router.target_groups")
                continue
            targets = [t for t in registered[slot] if address is None or t.address == address]
            healthy = sum(t.state == "healthy" for t in targets)
            bad = [f"{t.address} {t.state}" + (f" ({t.reason})" if t.reason else "") for t in targets if
                   t.state != "healthy"]  # fmt: skip
            if not targets:
                detail = f"no targets registered in {target_group_name(self.slots[slot])}"
            else:
                detail = f"{healthy}/{len(targets)} healthy" + (": " + ", ".join(bad[:3]) if bad else "")
            out[name] = BackendHealth(name, bool(targets) and healthy == len(targets), detail)
        return out

    async def drain_times(self) -> dict[str, float]:
        """Backend (and unused slot) name → its target group's deregistration delay in seconds."""
        delays: dict[str, float] = {}
        for slot, arn in self.slots.items():
            value = await self.api.attribute(arn, DRAIN_ATTRIBUTE)
            delays[slot] = AWS_DEFAULT_DRAIN_S if value is None or not value.isdigit() else float(value)
        out = {name: delays[slot] for name, slot in self.names.items()}
        out.update({slot: d for slot, d in delays.items() if slot not in self.names.values() and slot not in out})
        return out

    async def backends(self) -> dict[str, dict[str, Any]]:
        """name → {target_group, slot, weight, state (target health), drain_s}: for `greenflag router status`."""
        weights = await self.observe() or {}
        health = await self.backend_health()
        drains = await self.drain_times()
        return {
            name: {
                "slot": slot,
                "target_group": target_group_name(self.slots[slot]),
                "weight": weights.get(name, 0),
                "state": health[name].detail,
                "ready": health[name].ready,
                "drain_s": drains.get(name),
            }
            for name, slot in self.names.items()
        }


class AlbTestListenerRouter(AlbRouter):
    """AlbRouter with the test listener as its header route (HeaderRouting): pinned, the test listener forwards
    100 % to one backend's target group; unpinned, it carries the production listener's weights."""

    def __init__(self, spec: AlbRouterSpec, *, api: ElbApi | None = None) -> None:
        super().__init__(spec, api=api)
        assert spec.test_listener_arn is not None
        self.test = ActionOwner(spec.test_rule_arn or spec.test_listener_arn, rule=spec.test_rule_arn is not None)
        self._pinned: str | None = None

    async def _follow(self, by_arn: dict[str, int]) -> None:
        if self._pinned is None:
            await self._write(self.test, by_arn)

    async def set_header_route(self, backend: str | None) -> None:
        if backend is None:
            self._pinned = None
            _, production = await self._read(self.production)
            await self._write(self.test, {**dict.fromkeys(self.slots.values(), 0), **production})
            return
        if backend not in self.names:
            raise ValueError(f"unknown backend {backend!r} (known: {', '.join(self.names)})")
        target = self.slots[self.names[backend]]
        await self._write(self.test, {arn: (100 if arn == target else 0) for arn in self.slots.values()})
        self._pinned = backend

    async def header_route(self) -> str | None:
        """The backend the test listener sends everything to, when that is not simply the production split."""
        _, test = await self._read(self.test)
        live = [arn for arn, weight in test.items() if weight]
        if len(live) != 1:
            return None
        pinned = self._pinned
        if pinned is None or pinned not in self.names or self.slots[self.names[pinned]] != live[0]:
            _, production = await self._read(self.production)
            if same_traffic(test, production):
                return None  # the test listener follows production
        if pinned is not None and pinned in self.names and self.slots[self.names[pinned]] == live[0]:
            return pinned
        slot = next((s for s, arn in self.slots.items() if arn == live[0]), None)
        return next((n for n, s in sorted(self.names.items()) if s == slot), slot)

    async def _clear_header_route(self) -> None:
        await self.set_header_route(None)


def make_alb_router(spec: AlbRouterSpec, *, base_dir: str | Path | None = None, **options: Any) -> AlbRouter:
    """The driver for `router.kind: alb`; with `test_listener_arn` it also steers the test listener. Raises
    ValueError naming the key for a malformed region or ARN."""
    cls = AlbTestListenerRouter if spec.test_listener_arn is not None else AlbRouter
    return cls(spec, **options)
