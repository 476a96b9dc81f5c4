"""A large bid streams through to disk and back out at decryption without being held in memory."""
from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.trading.bids.conftest import DEADLINE, Trade, files_under
from trading import crypto

MIB = 1024 * 1024
PLAIN_SIZE = 50 * MIB


class GeneratedEnvelope:
    """A WSGI input that encrypts freshly generated plaintext as it is read, hashing both sides."""

    def __init__(self, key: bytes) -> None:
        self.plain_hash, self.cipher_hash = hashlib.sha256(), hashlib.sha256()
        self.size = PLAIN_SIZE + crypto.MIN_ENVELOPE
        self._parts: Iterator[bytes] = crypto.encrypt_chunks(key, self._plaintext())
        self._buffer = b""

    def _plaintext(self) -> Iterator[bytes]:
        for _ in range(PLAIN_SIZE // MIB):
            block = os.urandom(MIB)
            self.plain_hash.update(block)
            yield block

    def read(self, n: int = -1) -> bytes:
        while len(self._buffer) < max(n, 1):
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        out, self._buffer = (self._buffer, b"") if n < 0 else (self._buffer[:n], self._buffer[n:])
        self.cipher_hash.update(out)
        return out


def _measure(call):  # type: ignore[no-untyped-def]
    """Run call() and return (its result, the peak of memory allocated meanwhile)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50_mb_bid_streams_in_and_decrypts_out_in_small_memory(trade: Trade, storage):
    big = trade.bidder()
    big.key = os.urandom(32)
    body = GeneratedEnvelope(big.key)
    environ = EnvironBuilder(trade.url, method="PUT", content_type="application/octet-stream",
                             headers={**big.headers, "X-Device-Fingerprint": "fp-big"}).get_environ()
    environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(body.size)})

    response, peak = _measure(lambda: trade.client.open(Request(environ)))

    assert response.status_code == 201, response.get_json()
    big.receipt = response.get_json()
    assert big.receipt["size"] == body.size
    assert big.receipt["sha256"] == body.cipher_hash.hexdigest()
    assert peak < 12 * MIB, f"upload held {peak / MIB:.1f} MiB"

    for _ in range(2):  # an opening needs three bidders
        trade.submit(trade.bidder())
    trade.at(DEADLINE + timedelta(seconds=1))
    assert trade.complete("collect")["variables"]["opening_valid"] is True

    response, peak = _measure(lambda: trade.decrypt(big))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["plain_sha256"] == body.plain_hash.hexdigest()
    assert response.get_json()["plain_size"] == PLAIN_SIZE
    assert peak < 12 * MIB, f"decryption held {peak / MIB:.1f} MiB"
    assert not any(p.parent.name == "tmp" for p in files_under(storage))
