"""Who may use a shared server and what they may change: users with roles, scrypt passwords, the data folder.

An auth file holds one `user:password:role` a line (`#` comments and blank lines are skipped); the role is
`admin` (asks, loads, ingests, trains, switches models) or `reader` (asks). A password is either plain text or a
hash from `hash_password` (`scrypt$n$r$p$salt$key`, base64). The file must not be readable by group or others."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import InputError, MissingFileError

ROLES = ("admin", "reader")
_SCRYPT = "scrypt"
_N, _R, _P = 1 << 14, 8, 1  # ~16 MiB and ~50 ms per check: slow for guessing, fine for logins


def hash_password(password: str, *, salt: bytes | None = None, n: int = _N, r: int = _R, p: int = _P) -> str:
    """`scrypt$n$r$p$salt$key` for `password` (a fresh random salt unless one is given)."""
    if not password:
        raise InputError("the password is empty")
    salt = os.urandom(16) if salt is None else salt
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"{_SCRYPT}${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (a scrypt hash, or plain text); constant time in the comparison."""
    if stored.startswith(_SCRYPT + "$"):
        try:
            _, n, r, p, salt, key = stored.split("$")
            expected = base64.b64decode(key, validate=True)
            got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                                 n=int(n), r=int(r), p=int(p), dklen=len(expected))
        except (ValueError, MemoryError):
            return False
        return hmac.compare_digest(got, expected)
    return hmac.compare_digest(password.encode("utf-8"), stored.encode("utf-8"))


@dataclass(frozen=True)
class User:
    """One account: its name, role and stored password (hash or plain)."""

    name: str
    role: str
    secret: str


class AccessPolicy:
    """The accounts of one server. Without accounts (a loopback server with no auth) everyone is an admin."""

    def __init__(self, users: dict[str, User] | None = None) -> None:
        self.users = dict(users or {})

    @property
    def enabled(self) -> bool:
        return bool(self.users)

    @classmethod
    def single_admin(cls, user: str, password: str) -> AccessPolicy:
        return cls({user: User(user, "admin", password)})

    @classmethod
    def from_file(cls, path: str | Path) -> AccessPolicy:
        """Read an auth file; raises InputError naming file:line (or the file when others may read it)."""
        path = Path(path)
        try:
            info = path.stat()
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise MissingFileError("no such file", path) from None
        except (OSError, UnicodeError) as exc:
            raise InputError(f"cannot read ({' '.join(str(exc).split())})", path) from None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise InputError(f"group or others may read or write it (mode {stat.S_IMODE(info.st_mode):o}); "
                             f"run: chmod 600 {path}", path)
        users: dict[str, User] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, rest = line.partition(":")
            secret, sep2, role = rest.rpartition(":")
            if not sep or not sep2 or not name or not secret:
                raise InputError("expected user:password:role", path, number)
            if role not in ROLES:
                raise InputError(f"unknown role {role!r}; choose admin or reader", path, number)
            if name in users:
                raise InputError(f"user {name!r} is listed twice", path, number)
            users[name] = User(name, role, secret)
        if not users:
            raise InputError("no users in the file", path)
        return cls(users)

    def login(self, user: str, password: str) -> bool:
        """Gradio's auth check: the user exists and the password matches."""
        account = self.users.get(user)
        if account is None:
            hash_password(password or "-", salt=b"0" * 16)  # the same work as for a known user
            return False
        return verify_password(password, account.secret)

    def role(self, user: str | None) -> str | None:
        """The user's role; `admin` for everyone when no accounts are configured; None for unknown users."""
        if not self.enabled:
            return "admin"
        account = self.users.get(user or "")
        return account.role if account else None

    def may_change(self, user: str | None) -> bool:
        """Whether `user` may load, ingest, train or switch models."""
        return self.role(user) == "admin"


def resolve_data_path(data_dir: str | Path | None, given: str) -> Path:
    """The file `given` names inside `data_dir` (relative to it, or absolute under it), symlinks resolved.

    Refuses (InputError) when there is no data folder, on `..` parts, and on anything that ends outside it."""
    if data_dir is None:
        raise InputError("paths on the server are off (start the server with --data-dir DIR to allow them)")
    text = given.strip()
    if not text or "\x00" in text:
        raise InputError("empty or invalid path")
    if ".." in Path(text).parts:
        raise InputError(f"{text}: '..' is not allowed in server paths")
    root = Path(data_dir).resolve()
    candidate = Path(text) if Path(text).is_absolute() else root / text
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise MissingFileError("no such file in the data folder", text) from None
    if not real.is_relative_to(root):
        raise InputError(f"{text}: outside the server's data folder; refused")
    if not real.is_file():
        raise MissingFileError("not a file", text)
    return real
