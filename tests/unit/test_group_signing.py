"""The platforms' signatures (jobs/channels/signing.py) against known vectors, each worked out
here by the platform's published recipe, step by step, and written down as a literal."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, quote_plus

from jobs.channels.signing import (
    dingtalk_query,
    dingtalk_sign,
    feishu_sign,
    webhook_headers,
    webhook_signature,
)

T_MS, T_S = 1_700_000_000_000, 1_700_000_000  # 2023-11-14 22:13:20 UTC


def test_dingtalk_sign_is_base64_of_hmac_keyed_by_the_secret_over_timestamp_newline_secret() -> (
    None
):
    secret = "SEC4c2a0e7b"
    by_hand = hmac.new(b"SEC4c2a0e7b", b"1700000000000\nSEC4c2a0e7b", hashlib.sha256).digest()
    assert base64.b64encode(by_hand).decode() == "G7iQqMFlQ5TpHoJiMgeXf34KU8Viqd/aEH3N8MMZPBA="
    assert dingtalk_sign(secret, T_MS) == "G7iQqMFlQ5TpHoJiMgeXf34KU8Viqd/aEH3N8MMZPBA="


def test_dingtalk_query_url_encodes_the_sign() -> None:
    query = dingtalk_query("SEC4c2a0e7b", T_MS)
    # "/" and "=" must travel as %2F and %3D, or DingTalk answers "sign not match"
    assert query == "timestamp=1700000000000&sign=G7iQqMFlQ5TpHoJiMgeXf34KU8Viqd%2FaEH3N8MMZPBA%3D"
    # a sign with "+": quote_plus keeps it from being read back as a space
    assert dingtalk_sign("SEC0", T_MS) == "grq97xXoTUjTHFvKaCG7ayUVYZj98Kc7erzY+P9gZxg="
    plus = dingtalk_query("SEC0", T_MS)
    assert "%2B" in plus and "+" not in plus
    assert parse_qs(plus)["sign"] == ["grq97xXoTUjTHFvKaCG7ayUVYZj98Kc7erzY+P9gZxg="]
    assert quote_plus(dingtalk_sign("SEC0", T_MS)) in plus


def test_feishu_sign_is_keyed_by_timestamp_newline_secret_over_nothing() -> None:
    by_hand = hmac.new(b"1700000000\nfs-secret", b"", hashlib.sha256).digest()
    assert base64.b64encode(by_hand).decode() == "ognpFOmraex6LA29Ao14dsiNmmjE3YO4x5e/SX8n9Bw="
    assert feishu_sign("fs-secret", T_S) == "ognpFOmraex6LA29Ao14dsiNmmjE3YO4x5e/SX8n9Bw="
    # not the DingTalk recipe with another unit: key and message are the other way round
    assert feishu_sign("fs-secret", T_S) != dingtalk_sign("fs-secret", T_S)


def test_webhook_signature_is_hex_hmac_of_timestamp_dot_body() -> None:
    body = b'{"id":"report:1:group:leaders"}'
    by_hand = hmac.new(b"s3cr3t", b"1700000000." + body, hashlib.sha256).hexdigest()
    expected = "5f610c47dcbbebc34022e14eac808aba50a5b2b058d610d86353ecc0ff1297b9"
    assert by_hand == expected
    assert webhook_signature("s3cr3t", T_S, body) == "sha256=" + expected
    assert webhook_signature("s3cr3t", T_S + 1, body) != "sha256=" + expected
    assert webhook_signature("s3cr3t", T_S, body + b" ") != "sha256=" + expected


def test_webhook_headers_are_the_contract() -> None:
    body = b'{"id":"k"}'
    headers = webhook_headers("s3cr3t", T_S, body, "report:7:group:hook")
    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "X-Ztc-Timestamp": "1700000000",
        "X-Ztc-Signature": webhook_signature("s3cr3t", T_S, body),
        "X-Ztc-Idempotency-Key": "report:7:group:hook",
    }
