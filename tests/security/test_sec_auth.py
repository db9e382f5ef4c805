"""Accounts, roles and the data folder (agents.auth): what a shared server lets each user do."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.auth import AccessPolicy, hash_password, resolve_data_path, verify_password
from knowledge.errors import InputError


def _auth_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "users"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_scrypt_hash_verifies_only_its_password() -> None:
    stored = hash_password("hunter2")
    assert stored.startswith("scrypt$") and "hunter2" not in stored
    assert verify_password("hunter2", stored)
    assert not verify_password("hunter3", stored)
    assert hash_password("hunter2") != stored  # a fresh salt each time
    assert not verify_password("x", "scrypt$garbage")


def test_auth_file_roles(tmp_path: Path) -> None:
    path = _auth_file(tmp_path, f"# accounts\nann:{hash_password('s3cret')}:admin\n\nbob:pa:ss:reader\n")
    policy = AccessPolicy.from_file(path)
    assert policy.login("ann", "s3cret") and not policy.login("ann", "wrong")
    assert policy.login("bob", "pa:ss")  # a plain password may hold ':'
    assert not policy.login("eve", "s3cret")
    assert policy.may_change("ann") and not policy.may_change("bob")
    assert not policy.may_change(None) and not policy.may_change("eve")


def test_no_accounts_means_a_local_admin() -> None:
    assert AccessPolicy().may_change(None)
    assert AccessPolicy.single_admin("ann", "pw").may_change("ann")
    assert not AccessPolicy.single_admin("ann", "pw").may_change(None)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_auth_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _auth_file(tmp_path, "ann:pw:admin\n", mode)
    with pytest.raises(InputError, match="chmod 600"):
        AccessPolicy.from_file(path)


@pytest.mark.parametrize(("text", "line", "what"), [
    ("ann:pw:admin\nbob:pw:root\n", 2, "unknown role"),
    ("ann:pw:admin\nbob\n", 2, "user:password:role"),
    ("ann::admin\n", 1, "user:password:role"),
    ("ann:pw:admin\nann:pw2:reader\n", 2, "twice"),
])
def test_bad_auth_lines_name_file_and_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = _auth_file(tmp_path, text)
    with pytest.raises(InputError, match=what) as info:
        AccessPolicy.from_file(path)
    assert str(info.value).startswith(f"{path}:{line}:")


def test_empty_auth_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no users"):
        AccessPolicy.from_file(_auth_file(tmp_path, "# nobody\n"))


def test_data_dir_reads_only_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "g.ttl").write_text("x")
    secret = tmp_path / "secret.csv"
    secret.write_text("alice,password,hunter2\n")
    os.symlink(secret, data / "link.csv")
    assert resolve_data_path(data, "sub/g.ttl") == (data / "sub" / "g.ttl").resolve()
    assert resolve_data_path(data, str(data / "sub" / "g.ttl")) == (data / "sub" / "g.ttl").resolve()
    for bad, why in [("../secret.csv", r"'\.\.'"), ("sub/../../secret.csv", r"'\.\.'"), (str(secret), "outside"),
                     ("/etc/passwd", "outside"), ("link.csv", "outside"), ("nope.ttl", "no such file"),
                     ("sub", "not a file"), ("", "empty")]:
        with pytest.raises(InputError, match=why):
            resolve_data_path(data, bad)


def test_without_data_dir_the_path_box_is_off(tmp_path: Path) -> None:
    (tmp_path / "g.ttl").write_text("x")
    with pytest.raises(InputError, match="--data-dir"):
        resolve_data_path(None, str(tmp_path / "g.ttl"))
