"""The group channels without a network: a notice as each platform's message (markdown, limits,
files or where to get them), what each platform's answers mean, the destinations' secrets from
the environment, and the sliding rate window (over HTTP: tests/e2e/test_group_robots.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import pytest

from jobs.channels import Attachment, Rejected, Rendered, RetryLater, Transient, Unreachable
from jobs.channels.dingtalk import DingTalkChannel
from jobs.channels.feishu import FeishuChannel
from jobs.channels.groups import Answer, Window, cut_note, json_body
from jobs.channels.markdown import fit, markdown, plain, read_html, size
from jobs.channels.webhook import WebhookChannel
from jobs.channels.wecom import WeComChannel, WeComPart
from models.policy import Group

PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 10
XLSX = b"PK\x03\x04" + b"workbook" * 10
ELSEWHERE = (
    "完整附表请在 Telegram 或用 <code>ztc bulletin --period 2026-11 --format xlsx</code> 获取。"
)
CUT = cut_note(Rendered("", locale="zh_CN"))  # "（以下内容因群消息长度所限从略…）"


def bulletin(lines: int = 10, **kw: Any) -> Rendered:
    """A bulletin-shaped notice: a bold title, `lines` lines of Chinese, the two files."""
    body = "\n".join(
        f"{i:03d} 涟水县 按时办结率 87.5%，超期问题 3 件，满意率 92.0%。" for i in range(lines)
    )
    files = (
        Attachment("bulletin-city-2026-11.xlsx", XLSX),
        Attachment("bulletin-city-2026-11.png", PNG, "photo"),
    )
    defaults: dict[str, Any] = {"files": files, "elsewhere": ELSEWHERE, "locale": "zh_CN"}
    return Rendered(f"<b>2026年11月 月初一通报</b>\n\n{body}", **(defaults | kw))


def test_html_becomes_markdown_with_the_text_escaped() -> None:
    text = (
        '<b>问题 2026-00001 已升级。</b>\n项目：<a href="https://e.example/x (1)">A*B_C</a>\n'
        "<i>备注</i> <code>ztc `x`</code>\n<blockquote>引用</blockquote>\n&lt;b&gt; 不是标签"
    )
    lines = read_html(text)
    assert markdown(lines, italic=False) == (
        "**问题 2026-00001 已升级。**\n项目：[A\\*B\\_C](https://e.example/x%20(1%29)\n"
        "备注 `ztc 'x'`\n> 引用\n<b> 不是标签"
    )
    assert markdown(lines).splitlines()[2] == "*备注* `ztc 'x'`"
    assert markdown(lines, hard_break=True).splitlines()[0].endswith("**  ")
    assert plain(lines).splitlines()[1] == "项目：A*B_C (https://e.example/x (1))"


def test_fit_keeps_whole_lines_and_ends_with_the_note() -> None:
    text = "\n".join("第" + str(i) + "行" + "字" * 50 for i in range(100))
    cut = fit(text, 1000, "（从略）")
    assert size(cut) <= 1000 and cut.endswith("\n\n（从略）")
    kept = cut.split("\n\n")[0].split("\n")
    assert kept == text.split("\n")[: len(kept)] and len(kept) > 3
    assert fit("短", 1000, "（从略）") == "短"
    one_line = fit("字" * 2000, 100, "（从略）")
    assert size(one_line) <= 100 and one_line.endswith("…\n\n（从略）")


def test_wecom_sends_markdown_then_the_chart_as_an_image_then_the_workbook_as_a_file() -> None:
    parts = WeComChannel().parts(bulletin())
    assert [p.kind for p in parts] == ["markdown", "file", "image"]  # the notice's file order
    assert parts[0].text.startswith("**2026年11月 月初一通报**")
    assert "Telegram" not in parts[0].text  # the files travel: no line about where to get them
    assert (parts[1].name, parts[1].data) == ("bulletin-city-2026-11.xlsx", XLSX)
    assert parts[2].data == PNG


def test_a_wecom_bulletin_over_4096_bytes_is_cut_politely_at_a_line() -> None:
    long = bulletin(lines=200)
    assert size(markdown(read_html(long.text))) > 4096
    text = WeComChannel().parts(long)[0].text
    assert size(text) <= 4096
    body, note = text.rsplit("\n\n", 1)
    assert note == CUT and "Telegram" in note
    assert body.splitlines()[-1].startswith("0") and body.splitlines()[-1].endswith("。")
    english = WeComChannel().parts(bulletin(lines=200, locale="en"))[0].text
    assert english.rsplit("\n\n", 1)[1].startswith("(The rest is left out")


def test_wecom_sends_a_large_chart_as_a_file_and_leaves_out_a_file_over_20_mb() -> None:
    big_chart = Attachment("chart.png", PNG + b"0" * (2 * 1024 * 1024), "photo")
    huge = Attachment("all.xlsx", b"PK" + b"0" * (20 * 1024 * 1024 + 1))
    parts = WeComChannel().parts(bulletin(files=(big_chart, huge)))
    assert [p.kind for p in parts] == ["markdown", "file"]
    assert parts[0].text.endswith("获取。") and "ztc bulletin --period 2026-11" in parts[0].text


def test_dingtalk_sends_one_markdown_with_where_to_get_the_files() -> None:
    parts = DingTalkChannel().parts(bulletin(lines=200))
    assert len(parts) == 1
    assert parts[0].title == "2026年11月 月初一通报"
    assert parts[0].text.endswith("`ztc bulletin --period 2026-11 --format xlsx` 获取。  ")
    assert parts[0].text.splitlines()[0] == "**2026年11月 月初一通报**  "
    no_files = DingTalkChannel().parts(Rendered("<b>问题 1 已升级。</b>", elsewhere=ELSEWHERE))
    assert "Telegram" not in no_files[0].text


def test_feishu_sends_a_post_titled_by_the_first_line() -> None:
    (part,) = FeishuChannel().parts(bulletin(lines=400))
    assert part.language == "zh_cn" and part.title == "2026年11月 月初一通报"
    assert size(json.dumps(part.content, ensure_ascii=False, separators=(",", ":"))) < 19 * 1024
    texts = ["".join(e["text"] for e in line) for line in part.content]
    assert texts[-1].startswith("完整附表请在 Telegram") and CUT in texts
    (english,) = FeishuChannel().parts(Rendered("<b>Issue 1</b>\nx", locale="en"))
    assert english.language == "en_us" and english.content == (({"tag": "text", "text": "x"},),)


def test_the_webhook_sends_one_document_with_its_files_and_the_rows_key() -> None:
    (part,) = WebhookChannel().parts(bulletin(key="report:9:group:hook"))
    assert part.key == part.body["id"] == "report:9:group:hook"
    assert part.body["title"] == "2026年11月 月初一通报" and part.body["locale"] == "zh_CN"
    files = part.body["files"]
    assert [(f["name"], f["kind"], f["media_type"]) for f in files] == [
        (
            "bulletin-city-2026-11.xlsx",
            "document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("bulletin-city-2026-11.png", "photo", "image/png"),
    ]
    assert base64.b64decode(files[1]["data"]) == PNG
    assert files[1]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert json.loads(json_body(part.body)) == part.body


def answer(status: int = 200, **body: Any) -> Answer:
    return Answer(status, json.dumps(body), body)


@pytest.mark.parametrize(
    ("channel", "reply", "outcome"),
    [
        (WeComChannel(), answer(errcode=0, errmsg="ok"), None),
        (WeComChannel(), answer(errcode=45009, errmsg="api freq out of limit"), RetryLater),
        (WeComChannel(), answer(errcode=-1, errmsg="system busy"), Transient),
        (WeComChannel(), answer(errcode=93000, errmsg="invalid webhook url"), Rejected),
        (WeComChannel(), answer(502), Transient),
        (DingTalkChannel(), answer(errcode=130101, errmsg="send too fast"), RetryLater),
        (DingTalkChannel(), answer(errcode=310000, errmsg="sign not match"), Rejected),
        (FeishuChannel(), answer(code=0, msg="success"), None),
        (FeishuChannel(), answer(StatusCode=0), None),
        (FeishuChannel(), answer(code=11232, msg="frequency limited"), RetryLater),
        (FeishuChannel(), answer(code=19021, msg="sign match fail"), Rejected),
        (WebhookChannel(), answer(204), None),
        (WebhookChannel(), answer(409), None),  # the receiver has this key already
        (WebhookChannel(), answer(408), Transient),
        (WebhookChannel(), answer(401), Rejected),
    ],
)
def test_each_platforms_answer_means_an_outcome(
    channel: Any, reply: Answer, outcome: type[Exception] | None
) -> None:
    if outcome is None:
        channel.judge(reply)
    else:
        with pytest.raises(outcome):
            channel.judge(reply)


def test_rate_limit_answers_wait_as_long_as_the_platform_punishes() -> None:
    with pytest.raises(RetryLater) as wecom:
        WeComChannel().judge(answer(errcode=45009))
    with pytest.raises(RetryLater) as dingtalk:
        DingTalkChannel().judge(answer(errcode=130101))
    with pytest.raises(RetryLater) as hook:
        WebhookChannel().judge(Answer(429, "", None, retry_after=7))
    assert (wecom.value.seconds, dingtalk.value.seconds, hook.value.seconds) == (60, 600, 7)


def test_a_destination_is_resolved_from_the_environment_never_the_policy() -> None:
    groups = {
        "ZTC_WECOM_LEADERS": Group(channel="wecom", key_env="ZTC_WECOM_LEADERS"),
        "leaders-dt": Group(
            channel="dingtalk", name="leaders-dt", key_env="ZTC_DT", secret_env="ZTC_DT_SECRET"
        ),
    }
    env = {"ZTC_WECOM_LEADERS": " k-123 ", "ZTC_DT": "tok"}
    wecom = WeComChannel(groups=groups, lookup=env.get, api_url="http://127.0.0.1:9/")
    target = wecom.target("ZTC_WECOM_LEADERS")
    assert target.url == "http://127.0.0.1:9/cgi-bin/webhook/send?key=k-123"
    assert "k-123" not in repr(target)
    with pytest.raises(Rejected, match="no wecom group named 'leaders-dt'"):
        wecom.target("leaders-dt")  # another platform's group
    with pytest.raises(Unreachable, match="ZTC_DT_SECRET is not set"):
        DingTalkChannel(groups=groups, lookup=env.get).target("leaders-dt")
    env["ZTC_DT_SECRET"] = "SEC1"
    dingtalk = DingTalkChannel(groups=groups, lookup=env.get).target("leaders-dt")
    assert dingtalk.url == "https://oapi.dingtalk.com/robot/send?access_token=tok"
    assert dingtalk.secret == "SEC1"


async def test_the_window_lets_count_go_in_any_span_and_no_more() -> None:
    now = [0.0]
    window = Window(20, 60.0, lambda: now[0])
    for at in (0.0,) * 10 + (30.0,) * 10:  # ten at once, ten half a minute later
        now[0] = at
        await window.take()
    now[0] = 59.0
    assert window.wait() == pytest.approx(1.0)
    late = asyncio.ensure_future(window.take())
    await asyncio.sleep(0)
    assert not late.done()  # the 21st waits for the first to leave the window
    now[0] = 60.0
    await asyncio.wait_for(late, 2)
    for _ in range(9):
        await window.take()
    assert window.wait() == pytest.approx(30.0)  # 20 in (0, 60] again: full until 90


def test_wecom_parts_are_deterministic_for_a_retry() -> None:
    notice = bulletin(lines=200)
    first: list[WeComPart] = list(WeComChannel().parts(notice))
    assert first == list(WeComChannel().parts(notice))
