"""The audit hash chain: each event's hash covers its content and the previous hash."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    instance_id: str,
    seq: int,
    at: datetime,
    type_: str,
    actor: str | None,
    client_ip: str | None,
    data: Any,
) -> str:
    """SHA-256 over a canonical JSON of the event and the previous link."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "instance": instance_id,
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "type": type_,
            "actor": actor,
            "ip": client_ip,
            "data": data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
