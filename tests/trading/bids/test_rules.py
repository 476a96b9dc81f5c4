"""Pure rules of sealed bids: deadline parsing and the server clock to the second, the envelope, receipts."""
from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import BadRequest, Conflict, Invalid
from trading import bids as rules
from trading import crypto

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 12, 1, 9, 30, tzinfo=TZ)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-01T09:30:00+08:00", DEADLINE),
    ("2026-12-01T01:30:00Z", DEADLINE),
    ("2026-12-01T09:30:00", DEADLINE),  # no offset: wall-clock time of the platform zone
    ("2026-11-30", datetime(2026, 12, 1, 0, 0, tzinfo=TZ)),  # a bare date: 24:00 of that day
])
def test_a_deadline_parses_to_an_aware_time(value, expected):
    parsed = rules.parse_deadline(value, TZ)
    assert parsed == expected and parsed.tzinfo is not None


def test_a_missing_deadline_is_a_conflict_and_a_bad_one_is_invalid():
    with pytest.raises(Conflict, match="bid_deadline"):
        rules.parse_deadline(None, TZ)
    with pytest.raises(Invalid, match="ISO 8601"):
        rules.parse_deadline("next tuesday", TZ)


@pytest.mark.parametrize(("offset", "passed"), [
    (timedelta(seconds=-1), False),
    (timedelta(milliseconds=-1), False),  # 09:29:59.999 is still 09:29:59 on a clock read to the second
    (timedelta(0), True),  # at 09:30:00 exactly the deadline has passed
    (timedelta(seconds=1), True),
])
def test_the_deadline_is_judged_to_the_second(offset, passed):
    assert rules.has_passed(DEADLINE, DEADLINE + offset) is passed


def test_a_late_upload_is_refused_with_the_deadline_named():
    with pytest.raises(Conflict) as caught:
        rules.require_open(DEADLINE, DEADLINE + timedelta(seconds=1), TZ)
    assert "2026-12-01 09:30:00" in caught.value.message
    rules.require_open(DEADLINE, DEADLINE - timedelta(seconds=1), TZ)


def test_bids_stay_closed_to_everyone_until_the_deadline():
    with pytest.raises(Conflict, match="不得查看"):
        rules.require_closed(DEADLINE, DEADLINE - timedelta(seconds=1), TZ)
    rules.require_closed(DEADLINE, DEADLINE, TZ)


def test_the_decryption_window():
    opened = DEADLINE + timedelta(seconds=3, microseconds=500)
    until = rules.decrypt_until(opened, 30)
    assert until == DEADLINE + timedelta(minutes=30, seconds=3)
    rules.require_in_window(opened, until, until - timedelta(seconds=1), TZ)
    with pytest.raises(Conflict, match="解密时限"):
        rules.require_in_window(opened, until, until, TZ)
    with pytest.raises(Conflict, match="尚未开标"):
        rules.require_in_window(None, None, opened, TZ)
    for bad in (0, -5, "60", True, None):
        with pytest.raises(Invalid):
            rules.decrypt_until(opened, bad)


def test_receipt_numbers_tell_when_never_who_and_do_not_repeat():
    numbers = {rules.receipt_no(DEADLINE, TZ) for _ in range(200)}
    assert len(numbers) == 200
    assert all(re.fullmatch(r"TB20261201093000[0-9A-F]{8}", n) for n in numbers)


def test_lots_and_fingerprints_are_cleaned():
    assert rules.clean_lot(None) == rules.clean_lot("  ") == "1"
    assert rules.clean_lot(" 2 ") == "2"
    with pytest.raises(Invalid):
        rules.clean_lot("x" * 41)
    assert rules.clean_fingerprint("  ") is None
    assert rules.clean_fingerprint(" abc ") == "abc"
    with pytest.raises(BadRequest):
        rules.clean_fingerprint("x" * 201)


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_the_envelope_decrypts_in_chunks_of_any_size(size):
    key, plain = os.urandom(32), os.urandom(size)
    envelope = crypto.encrypt(key, plain)
    assert len(envelope) == size + crypto.MIN_ENVELOPE
    out = io.BytesIO()
    digest, length = crypto.decrypt_stream(key, io.BytesIO(envelope), len(envelope), out, chunk=7)
    assert out.getvalue() == plain and length == size
    assert digest == hashlib.sha256(plain).hexdigest()


def test_a_wrong_key_or_a_changed_byte_fails_the_tag():
    key, plain = os.urandom(32), b"price: 1,234,567.00" * 10
    envelope = bytearray(crypto.encrypt(key, plain))
    with pytest.raises(crypto.WrongKey):
        crypto.decrypt_stream(os.urandom(32), io.BytesIO(bytes(envelope)), len(envelope), io.BytesIO())
    envelope[20] ^= 1
    with pytest.raises(crypto.WrongKey):
        crypto.decrypt_stream(key, io.BytesIO(bytes(envelope)), len(envelope), io.BytesIO())
    with pytest.raises(crypto.WrongKey, match="长度不足"):
        crypto.decrypt_stream(key, io.BytesIO(b"short"), 5, io.BytesIO())


def test_keys_are_base64_aes256():
    assert crypto.parse_key("A" * 43 + "=") == bytes(32)
    with pytest.raises(BadRequest):
        crypto.parse_key("not base64 !!")
    with pytest.raises(BadRequest):
        crypto.parse_key(None)
    with pytest.raises(Invalid, match="32 字节"):
        crypto.parse_key("AAAA")
