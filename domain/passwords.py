"""Password hashes for web login: salted scrypt from the standard library, compared in constant time."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from domain.errors import Invalid

SCHEME = "scrypt"
# About 16 MiB and a few tens of milliseconds per check: cheap for one login, costly for a guessing attack.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 256


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024,
                          dklen=KEY_BYTES)


def check_policy(password: str) -> None:
    """Refuse a password that is too short, too long or only one kind of character."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少 {MIN_LENGTH} 个字符")
    if len(password) > MAX_LENGTH:
        problems.append(f"最多 {MAX_LENGTH} 个字符")
    if password and (password.isdigit() or password.isalpha()):
        problems.append("须同时包含字母和数字或符号")
    if problems:
        raise Invalid("密码不符合要求", [{"field": "password", "message": "；".join(problems)}])


def hash_password(password: str) -> str:
    """A new salted hash: scrypt$N$r$p$salt$key, all parameters stored so they can be raised later."""
    salt = secrets.token_bytes(SALT_BYTES)
    return "$".join([SCHEME, str(N), str(R), str(P), _b64(salt), _b64(_derive(password, salt, N, R, P))])


def verify_password(password: str, stored: str | None) -> bool:
    """True when password matches stored; a missing or malformed hash still costs one derivation."""
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        # Spend the same work as a real check so timing does not tell which usernames have passwords.
        _derive(password, _DUMMY_SALT, N, R, P)
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
    except ValueError:
        _derive(password, _DUMMY_SALT, N, R, P)
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p), expected)


_DUMMY_SALT = secrets.token_bytes(SALT_BYTES)
