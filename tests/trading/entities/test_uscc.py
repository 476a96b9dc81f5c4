"""统一社会信用代码 (GB 32100-2015): check character, alphabet, authority, region; no database."""
from __future__ import annotations

import pytest

from domain.errors import Invalid
from trading import uscc

# Codes as printed on published business licences and in the standard's commonly cited example.
PUBLISHED = [
    "91350100M000100Y43",
    "91440300708461136T",
    "91110108551385082Q",
    "914403001922038216",
    "91110000100010433L",
]
VALID = "91350100M000100Y43"


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert uscc.is_valid(code)
    uscc.check(code)


def test_the_check_character_by_hand():
    # 9 1 3 5 0 1 0 0 M(21) 0 0 0 1 0 0 Y(30) 4 against the weights: Σ = 1640, 1640 mod 31 = 28, 31 − 28 = 3.
    values = [9, 1, 3, 5, 0, 1, 0, 0, 21, 0, 0, 0, 1, 0, 0, 30, 4]
    total = sum(v * w for v, w in zip(values, uscc.WEIGHTS, strict=True))
    expected = uscc.ALPHABET[(31 - total % 31) % 31]
    assert total == 1640
    assert expected == "3" == uscc.check_character(VALID[:17])


def test_a_remainder_of_zero_gives_check_character_zero():
    # With "3" at position 17 the weighted sum is a multiple of 31: 31 − 0 must wrap to "0", not index past "Y".
    body = "91350100M000100Y3"
    assert sum(uscc.ALPHABET.index(c) * w for c, w in zip(body, uscc.WEIGHTS, strict=True)) % 31 == 0
    assert uscc.check_character(body) == "0"
    assert uscc.is_valid(body + "0")


def test_the_alphabet_and_weights_of_the_standard():
    assert uscc.ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY" and len(uscc.ALPHABET) == 31
    assert not set("IOZSV") & set(uscc.ALPHABET)
    # The weights are 3^(i−1) mod 31.
    assert list(uscc.WEIGHTS) == [pow(3, i, 31) for i in range(17)]


@pytest.mark.parametrize("position", range(17))
def test_any_single_character_change_is_caught(position):
    for char in uscc.ALPHABET:
        if char == VALID[position]:
            continue
        changed = VALID[:position] + char + VALID[position + 1:]
        if uscc.normalize(changed)[0] in uscc.AUTHORITIES and changed[2:8].isdigit():
            assert not uscc.is_valid(changed), changed


@pytest.mark.parametrize("position", range(16))
def test_swapping_neighbours_is_caught(position):
    body = "91350100M000100Y4"
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2:]
    if swapped != body and swapped[0] in uscc.AUTHORITIES and swapped[2:8].isdigit():
        assert uscc.check_character(swapped) != uscc.check_character(body)


def test_a_wrong_check_character_names_the_expected_one():
    with pytest.raises(Invalid) as caught:
        uscc.check("91350100M000100Y44")
    assert "校验位" in caught.value.message and "应为“3”" in caught.value.message and "实际为“4”" in caught.value.message
    assert caught.value.errors == [{"field": "uscc", "message": caught.value.message}]


@pytest.mark.parametrize("code, words", [
    ("91350100M000100Y4", ["18 位", "17 位"]),
    ("91350100M000100Y433", ["18 位", "19 位"]),
    ("", ["18 位", "0 位"]),
    ("91350100M0001O0Y43", ["第 14 位", "“O”", "I、O、Z、S、V"]),
    ("91350100M000100S43", ["第 16 位", "“S”"]),
    ("91350100M00-100Y43", ["第 12 位", "“-”"]),
    ("B1350100M000100Y43", ["第 1 位", "登记管理部门代码", "“B”"]),
    ("913501A0M000100Y43", ["第 3-8 位", "行政区划码", "3501A0"]),
])
def test_what_is_wrong_is_said_in_chinese(code, words):
    assert not uscc.is_valid(code)
    with pytest.raises(Invalid) as caught:
        uscc.check(code)
    for word in words:
        assert word in caught.value.message, (word, caught.value.message)


def test_lower_case_spaces_and_full_width_are_normalised():
    for typed in ("91350100m000100y43", " 91350100M000100Y43\n", "９１３５０１００Ｍ０００１００Ｙ４３"):
        assert uscc.is_valid(typed)
        assert uscc.clean(typed) == VALID


def test_clean_names_the_field():
    with pytest.raises(Invalid) as caught:
        uscc.clean("123", field="org")
    assert caught.value.errors[0]["field"] == "org"


def test_region_and_category_come_from_the_code():
    assert uscc.region_of(VALID) == "350100"
    assert uscc.region_of("91440300708461136t") == "440300"
    assert uscc.category_of(VALID) == "企业"
    assert uscc.category_of("521100005000000008") == "民办非企业单位"
    assert uscc.category_of("991100005000000008") is None
