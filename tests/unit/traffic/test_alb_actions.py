"""The ALB's listener actions as data: the forward action greenflag writes, what it keeps, and the `router:` keys of
`kind: alb` it checks (one line naming the key)."""

from __future__ import annotations

from typing import Any

import pytest

from greenflag.spec import AlbRouterSpec
from greenflag.traffic.alb_actions import NO_BACKEND_BODY, check_alb, forward_weights, same_traffic, with_weights

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
LISTENER = f"{ARN}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
TEST_LISTENER = f"{ARN}:listener/app/shop/50dc6c495c0c9188/0000000000000001"
RULE = f"{ARN}:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
BLUE = f"{ARN}:targetgroup/shop-blue/73e2d6bc24d8a067"
GREEN = f"{ARN}:targetgroup/shop-green/2453ed029918f21f"


def spec(**keys: Any) -> AlbRouterSpec:
    base = {"kind": "alb", "region": "eu-west-1", "listener_arn": LISTENER,
            "target_groups": {"blue": BLUE, "green": GREEN}}  # fmt: skip
    return AlbRouterSpec.model_validate({**base, **keys})


def test_every_target_group_is_named_and_stickiness_and_authentication_are_kept() -> None:
    auth = {"Type": "authenticate-oidc", "Order": 1,
            "AuthenticateOidcConfig": {"Issuer": "https://idp", "ClientId": "c"}}  # fmt: skip
    sticky = {"Enabled": True, "DurationSeconds": 600}
    old = [auth, {"Type": "forward", "Order": 2, "TargetGroupArn": BLUE,
                  "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": BLUE, "Weight": 1}],
                                    "TargetGroupStickinessConfig": sticky}}]  # fmt: skip
    new = with_weights(old, {BLUE: 0, GREEN: 100})
    assert new[0]["AuthenticateOidcConfig"]["UseExistingClientSecret"] is True  # Describe* leaves the secret out
    assert new[1] == {"Type": "forward", "Order": 2, "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": BLUE, "Weight": 0}, {"TargetGroupArn": GREEN, "Weight": 100}],
        "TargetGroupStickinessConfig": sticky}}  # fmt: skip
    assert forward_weights(new) == {BLUE: 0, GREEN: 100}
    assert old[1]["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": BLUE, "Weight": 1}]  # input unchanged


def test_all_zero_is_a_fixed_503_and_reads_back_as_no_weights() -> None:
    new = with_weights([{"Type": "forward", "TargetGroupArn": BLUE}], {BLUE: 0, GREEN: 0})
    assert new == [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "503", "ContentType": "text/plain", "MessageBody": NO_BACKEND_BODY}}]  # fmt: skip
    assert forward_weights(new) == {}
    back = with_weights(new, {BLUE: 100, GREEN: 0})  # and back to a forward
    assert forward_weights(back) == {BLUE: 100, GREEN: 0}


def test_the_terminal_action_is_the_highest_order() -> None:
    actions = [{"Type": "forward", "Order": 5, "TargetGroupArn": GREEN}, {"Type": "authenticate-cognito", "Order": 1}]
    assert forward_weights(actions) == {GREEN: 1}  # a single target group: AWS's default weight
    assert with_weights(actions, {BLUE: 3, GREEN: 0})[0]["Order"] == 5


def test_what_greenflag_does_not_steer_or_cannot_write_is_refused() -> None:
    redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "StatusCode": "HTTP_301"}}]
    with pytest.raises(ValueError, match="'redirect': greenflag steers a forward action"):
        forward_weights(redirect)
    with pytest.raises(ValueError, match="shop-green: an ALB weight is 0-999, not 1000"):
        with_weights([{"Type": "forward", "TargetGroupArn": BLUE}], {BLUE: 0, GREEN: 1000})
    with pytest.raises(ValueError, match="no actions"):
        forward_weights([])


def test_same_traffic_ignores_zero_weights() -> None:
    assert same_traffic({BLUE: 100, GREEN: 0}, {BLUE: 100})
    assert not same_traffic({BLUE: 90, GREEN: 10}, {BLUE: 90})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"region": "mars"}, "router.region: expected an AWS region such as eu-west-1, got 'mars'"),
        ({"listener_arn": "arn:aws:nope"}, "router.listener_arn: expected an ALB listener ARN"),
        ({"listener_arn": LISTENER.replace("eu-west-1", "us-east-1")}, "router.listener_arn: the ARN is in us-east-1"),
        ({"target_groups": {"blue": BLUE, "green": "x"}}, "router.target_groups.green: expected an ALB target group"),
        ({"rule_arn": RULE.replace("f2f7dc8efc522ab2", "0000000000000002")},
         "router.rule_arn: the rule belongs to another listener than router.listener_arn"),
        ({"test_listener_arn": TEST_LISTENER, "test_rule_arn": RULE},
         "router.test_rule_arn: the rule belongs to another listener than router.test_listener_arn"),
        ({"test_listener_arn": "listener"}, "router.test_listener_arn: expected an ALB listener ARN"),
    ],
)  # fmt: skip
def test_keys_are_checked_naming_the_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        check_alb(spec(**keys))
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_good_spec_passes() -> None:
    check_alb(spec(rule_arn=RULE, test_listener_arn=TEST_LISTENER))
