"""Roles and region codes: who may see and do what."""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "designer": "流程设计人员",
    "staff": "交易中心工作人员",
    "purchaser": "招标人/采购人/出让人/转让方",
    "agency": "招标代理/采购代理机构",
    "bidder": "投标人/供应商/竞买人/受让方",
    "expert": "评标/评审专家",
    "supervisor": "行政监督人员",
    "integrator": "外部系统",
}


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a use case."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    region: str | None = None
    org: str | None = None
    ip: str | None = None

    def has(self, *roles: str) -> bool:
        """True when the actor holds any of the roles."""
        return bool(self.roles.intersection(roles))

    def covers(self, region: str | None) -> bool:
        """True when the actor's region includes the given region."""
        return region_covers(self.region, region)


SYSTEM = Actor("system", frozenset({"admin"}))


def region_prefix(code: str) -> str:
    """The significant prefix of an administrative division code: 330000 → 33, 330100 → 3301."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_covers(holder: str | None, target: str | None) -> bool:
    """A platform-wide holder (no region) covers everything; a province covers its cities."""
    if not holder:
        return True
    if not target:
        return False
    return region_prefix(target).startswith(region_prefix(holder))


def is_valid_region(code: str) -> bool:
    """Administrative division codes are six digits (GB/T 2260)."""
    return len(code) == 6 and code.isdigit()
