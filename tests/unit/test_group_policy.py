"""Groups in the policy's audiences (names of variables, never secrets), and the robots' secrets
kept out of log lines."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logmask import TokenMask, mask_secrets
from models.policy import PolicyError, parse_policy
from tests.support.robots import LEADERS, policy_text


def test_the_leaders_groups_are_read_by_name() -> None:
    policy = parse_policy(policy_text(LEADERS))
    groups = policy.groups()
    assert list(groups) == ["ZTC_WECOM_LEADERS", "ZTC_DINGTALK_LEADERS", "ZTC_HOOK_URL"]
    assert groups["ZTC_DINGTALK_LEADERS"].secret_env == "ZTC_DINGTALK_LEADERS_SECRET"
    assert policy.audiences["monthly_bulletin"].groups == tuple(groups.values())
    assert parse_policy(policy_text("")).groups() == {}  # the shipped policy names none


@pytest.mark.parametrize(
    ("groups", "error"),
    [
        (
            'groups = [{channel = "wecom", key_env = "693a91f6-7b0c-4bc4-97a0-0ec2aaaa"}]',
            "must name an environment variable",
        ),
        ('groups = [{channel = "wecom"}]', "give key_env or url_env"),
        (
            'groups = [{channel = "webhook", url_env = "ZTC_HOOK_URL"}]',
            "a webhook needs url_env and secret_env",
        ),
        (
            'groups = [{channel = "wecom", key_env = "K", secret_env = "S"}]',
            "a WeCom robot is not signed",
        ),
        ('groups = [{channel = "telegram", key_env = "K"}]', "channel"),
        ('groups = [{channel = "wecom", key_env = "K", name = "a b"}]', "without spaces"),
        ('groups = [{channel = "wecom", key_env = "K", keyy = "x"}]', "keyy"),
    ],
)
def test_a_bad_group_is_refused_naming_the_key(groups: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error) as refused:
        parse_policy(policy_text(groups))
    assert "audiences.monthly_bulletin.groups" in str(refused.value)


def test_one_name_cannot_stand_for_two_destinations() -> None:
    text = policy_text(
        'groups = [{channel = "wecom", name = "leaders", key_env = "A"}]',
        jobs=("monthly_bulletin",),
    )
    text = text.replace(
        "[audiences.quarterly_review]\n",
        '[audiences.quarterly_review]\ngroups = [{channel = "wecom", name = "leaders", '
        'key_env = "B"}]\n',
    )
    with pytest.raises(PolicyError, match="'leaders' is given to two different destinations"):
        parse_policy(text)


def test_the_robots_secrets_are_masked_exactly_and_wherever_a_url_keeps_one() -> None:
    line = (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b0c-4bc4 "
        "and https://oapi.dingtalk.com/robot/send?access_token=6f1cabc&timestamp=1&sign=a%2Fb "
        "and https://open.feishu.cn/open-apis/bot/v2/hook/0b3c-77 secret SECabc/def+1"
    )
    masked = mask_secrets(line, ["SECabc/def+1", "abc"])  # too short to mask alone: left
    assert masked == (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=*** "
        "and https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=1&sign=*** "
        "and https://open.feishu.cn/open-apis/bot/v2/hook/*** secret ***"
    )
    assert mask_secrets("sign=SECabc%2Fdef%2B1", ["SECabc/def+1"]) == "sign=***"


def test_the_log_mask_hides_the_groups_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TokenMask("123456:" + "A" * 35, ["hook-secret-0123"]))
    log = logging.getLogger("test.group.mask")
    log.addHandler(handler)
    try:
        log.error("signing with %s for %s", "hook-secret-0123", "bot123456:" + "A" * 35)
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == "signing with *** for bot123456:***\n"
