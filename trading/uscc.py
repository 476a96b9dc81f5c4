"""统一社会信用代码 (GB 32100-2015): normalise, verify the check character, read its parts."""
from __future__ import annotations

import unicodedata

from domain.errors import Invalid

# GB 32100-2015 §4.2: the code alphabet leaves out I, O, Z, S and V (easily confused with 1, 0, 2, 5, U).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

# Appendix A of the standard (with the later additions A and N): registration authority, then the
# organisation categories each authority assigns.
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                    "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("市场监督管理（工商）", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


def normalize(code: str) -> str:
    """Upper-case and strip, folding full-width characters typed by Chinese input methods."""
    return unicodedata.normalize("NFKC", code).strip().upper()


def check_character(body: str) -> str:
    """The check character (position 18) for the first 17 characters."""
    total = sum(_VALUE[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """What is wrong with an (already normalised) code, in Chinese, or None when it is valid."""
    if len(code) != LENGTH:
        return f"统一社会信用代码应为 18 位，实际为 {len(code)} 位"
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            return (f"统一社会信用代码第 {position} 位字符“{char}”不合法：只能由数字和除 I、O、Z、S、V 以外的"
                    "大写英文字母组成")
    if code[0] not in AUTHORITIES:
        return (f"统一社会信用代码第 1 位登记管理部门代码“{code[0]}”不存在"
                f"（应为 {'、'.join(AUTHORITIES)} 之一）")
    if not code[2:8].isdigit():
        return f"统一社会信用代码第 3-8 位应为登记管理机关的 6 位数字行政区划码，实际为“{code[2:8]}”"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：按 GB 32100-2015 计算，第 18 位应为“{expected}”，实际为“{code[17]}”"
    return None


def is_valid(code: str) -> bool:
    """True for a well-formed code with the right check character (lower case accepted)."""
    return problem(normalize(code)) is None


def check(code: str, field: str = "uscc") -> None:
    """Raise Invalid saying what is wrong with the code (lower case accepted)."""
    message = problem(normalize(code))
    if message is not None:
        raise Invalid(message, [{"field": field, "message": message}])


def clean(code: str, field: str = "uscc") -> str:
    """The normalised code, after check()."""
    check(code, field)
    return normalize(code)


def region_of(code: str) -> str:
    """The registration authority's administrative division (positions 3–8); informational only."""
    return normalize(code)[2:8]


def category_of(code: str) -> str | None:
    """The organisation category of positions 1–2 (企业, 事业单位 …), or None when the table lacks it."""
    code = normalize(code)
    authority = AUTHORITIES.get(code[:1])
    return authority[1].get(code[1:2]) if authority else None
