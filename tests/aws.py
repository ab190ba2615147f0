"""An Application Load Balancer built in moto's AWS server on 127.0.0.1 (never real AWS): a VPC with two subnets, a
load balancer, target groups `blue` and `green` (IP targets), a production listener forwarding to blue, a test
listener and a listener rule. Tests that need it call `build_alb(endpoint)`; `moto_server` is in tests/servers.py.

moto keeps these as data: it routes no HTTP through the listeners, reports every registered target `healthy`,
and deregisters at once, whatever the deregistration delay."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REGION", "AlbWorld", "build_alb", "elbv2"]

REGION = "eu-west-1"
_names = itertools.count()


def elbv2(endpoint: str) -> Any:
    import boto3

    return boto3.client("elbv2", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # fmt: skip


@dataclass
class AlbWorld:
    endpoint: str
    vpc: str
    load_balancer: str
    listener: str
    test_listener: str
    rule: str
    target_groups: dict[str, str] = field(default_factory=dict)

    def router_keys(self, **extra: Any) -> dict[str, Any]:
        """The `router:` section of greenflag.yaml for this load balancer."""
        return {"kind": "alb", "region": REGION, "listener_arn": self.listener, "target_groups": self.target_groups,
                "endpoint_url": self.endpoint, **extra}  # fmt: skip

    def register(self, slot: str, *addresses: str) -> None:
        targets = [{"Id": a.rpartition(":")[0], "Port": int(a.rpartition(":")[2])} for a in addresses]
        elbv2(self.endpoint).register_targets(TargetGroupArn=self.target_groups[slot], Targets=targets)

    def set_drain(self, slot: str, seconds: int) -> None:
        elbv2(self.endpoint).modify_target_group_attributes(
            TargetGroupArn=self.target_groups[slot],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(seconds)}],
        )

    def default_actions(self, listener: str | None = None) -> list[dict[str, Any]]:
        found = elbv2(self.endpoint).describe_listeners(ListenerArns=[listener or self.listener])["Listeners"]
        return list(found[0]["DefaultActions"])

    def rule_actions(self) -> list[dict[str, Any]]:
        return list(elbv2(self.endpoint).describe_rules(RuleArns=[self.rule])["Rules"][0]["Actions"])


def build_alb(endpoint: str, slots: tuple[str, ...] = ("blue", "green")) -> AlbWorld:
    """A fresh load balancer (unique names, so one moto server serves a whole test module)."""
    import boto3

    n = next(_names)
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # fmt: skip
    elb = elbv2(endpoint)
    # moto's VPC, subnets and targets are records in moto's memory: nothing is sent to these 10.0.x addresses
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name=f"shop{n}", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        slot: elb.create_target_group(Name=f"shop{n}-{slot}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        for slot in slots
    }  # fmt: skip
    first = groups[slots[0]]

    def listener(port: int) -> str:
        return str(elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": first}])
                   ["Listeners"][0]["ListenerArn"])  # fmt: skip

    production, test = listener(80), listener(8443)
    rule = elb.create_rule(ListenerArn=production, Priority=10,
                           Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                           Actions=[{"Type": "forward", "TargetGroupArn": first}])["Rules"][0]["RuleArn"]  # fmt: skip
    return AlbWorld(endpoint, vpc, lb, production, test, rule, groups)
