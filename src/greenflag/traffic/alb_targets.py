"""The slots platform behind an ALB: each slot's targets registered in, and deregistered from, its target group
(`router.target_groups`, one per slot, named like the slots) — CodeDeploy's AllowTraffic and BlockTraffic for an
in-place deployment. The platform calls it (`platform.slots.SlotTargets`); the API calls are the ALB driver's.

A slot's address must be one of its targets, so that the ALB router finds the version deployed there in the slot's
target group; both are checked when the controller is built (one line naming the key).
"""

from __future__ import annotations

from greenflag.errors import ConfigError
from greenflag.spec import AlbRouterSpec, SlotsPlatformSpec
from greenflag.traffic.alb_api import ElbApi

__all__ = ["AlbSlotTargets"]


def _target(text: str) -> dict[str, object]:
    ident, _, port = text.rpartition(":")
    return {"Id": ident, "Port": int(port)}


class AlbSlotTargets:
    """SlotTargets over an ALB's target groups."""

    def __init__(self, router: AlbRouterSpec, platform: SlotsPlatformSpec, *, api: ElbApi | None = None) -> None:
        missing = [slot for slot in platform.slots if slot not in router.target_groups]
        if missing:
            raise ConfigError(
                f"router.target_groups: no target group for slot {', '.join(missing)} (platform.slots); name one "
                "per slot, e.g. {blue: arn:…, green: arn:…}"
            )
        for slot, spec in platform.slots.items():
            address = spec.address.split("://", 1)[1].split("/", 1)[0]
            if spec.targets and address not in spec.targets:
                raise ConfigError(
                    f"platform.slots.{slot}.targets: must include the slot's address {address} (the router finds the "
                    "version by it in the target group)"
                )
        self.router = router
        self.platform = platform
        self.api = api or ElbApi(router)

    async def register(self, slot: str, targets: list[str]) -> None:
        await self.api.call("register_targets", TargetGroupArn=self.router.target_groups[slot],
                            Targets=[_target(t) for t in targets])  # fmt: skip

    async def deregister(self, slot: str, targets: list[str]) -> None:
        registered = {t.address for t in await self.api.targets(self.router.target_groups[slot])}
        gone = [t for t in targets if t in registered]
        if gone:
            await self.api.call("deregister_targets", TargetGroupArn=self.router.target_groups[slot],
                                Targets=[_target(t) for t in gone])  # fmt: skip

    def close(self) -> None:
        self.api.close()

