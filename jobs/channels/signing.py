"""How each platform knows a message is ours: the signatures, by their published recipes.

- DingTalk custom robot (加签): base64 of HMAC-SHA256 keyed by the secret over
  "<timestamp ms>\\n<secret>", URL-encoded into the query with the timestamp.
- Feishu custom bot: base64 of HMAC-SHA256 keyed by "<timestamp s>\\n<secret>" over nothing,
  sent in the JSON body with the timestamp.
- Our generic webhook: hex HMAC-SHA256 keyed by the secret over "<timestamp>.<body>", sent as
  `X-Ztc-Signature: sha256=<hex>` with `X-Ztc-Timestamp` (the receiver checks both, and rejects a
  timestamp far from its clock: a captured request cannot be replayed later).

Pure functions: the time is an argument (tests/unit/test_group_signing.py checks known vectors).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

TIMESTAMP = "X-Ztc-Timestamp"
SIGNATURE = "X-Ztc-Signature"
IDEMPOTENCY_KEY = "X-Ztc-Idempotency-Key"


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign` (base64, not yet URL-encoded) for a timestamp in milliseconds."""
    digest = _hmac(secret.encode(), f"{timestamp_ms}\n{secret}".encode())
    return base64.b64encode(digest).decode("ascii")


def dingtalk_query(secret: str, timestamp_ms: int) -> str:
    """The query DingTalk's signed robot URL takes after its access token."""
    sign = quote_plus(dingtalk_sign(secret, timestamp_ms))
    return f"timestamp={timestamp_ms}&sign={sign}"


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign` for a timestamp in seconds: the key is "timestamp\\nsecret", no message."""
    return base64.b64encode(_hmac(f"{timestamp_s}\n{secret}".encode(), b"")).decode("ascii")


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Ztc-Signature`: "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>"."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def webhook_headers(secret: str, timestamp: int, body: bytes, key: str) -> dict[str, str]:
    """The headers of a signed webhook request (JSON body)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP: str(timestamp),
        SIGNATURE: webhook_signature(secret, timestamp, body),
        IDEMPOTENCY_KEY: key,
    }
