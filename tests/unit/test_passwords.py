"""Password hashes: scrypt with a salt per hash and its parameters inside the hash string."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import pytest

from cxhub.services.access.users import (
    PERMISSIONS,
    ROLES,
    User,
    hash_password,
    needs_rehash,
    verify_password,
)


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_the_hash_is_scrypt_with_its_parameters_and_salt() -> None:
    stored = hash_password("s3cret-pass")
    scheme, log2_n, r, p, salt, digest = stored.split("$")
    assert scheme == "scrypt"
    # Recompute with the standard library from what the string says: nothing else is needed.
    expected = hashlib.scrypt(b"s3cret-pass", salt=_unb64(salt), n=2 ** int(log2_n), r=int(r),
                              p=int(p), dklen=len(_unb64(digest)), maxmem=64 * 1024 * 1024)
    assert expected == _unb64(digest)
    assert len(_unb64(salt)) == 16
    assert "s3cret-pass" not in stored


def test_the_same_password_gets_a_different_salt_each_time() -> None:
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b
    assert a.split("$")[4] != b.split("$")[4]
    assert verify_password("same password", a) and verify_password("same password", b)


def test_hashes_made_with_other_parameters_still_verify_and_ask_to_be_redone() -> None:
    cheap = hash_password("old password", log2_n=10, r=4, p=1)
    assert cheap.split("$")[1:4] == ["10", "4", "1"]
    assert verify_password("old password", cheap)
    assert needs_rehash(cheap)
    assert not needs_rehash(hash_password("new password"))


@pytest.mark.parametrize("stored", [
    None, "", "plain-text-password", "md5$abc", "scrypt$14$8$1$bad", "scrypt$99$8$1$AAAA$AAAA",
    "scrypt$x$8$1$AAAA$AAAA", "bcrypt$14$8$1$AAAA$AAAA",
])
def test_a_malformed_or_foreign_hash_never_verifies(stored: str | None) -> None:
    assert not verify_password("anything", stored)


def test_roles_grant_what_the_product_promises() -> None:
    assert set(ROLES) == set(PERMISSIONS)

    def user(role: str, disabled: bool = False) -> User:
        return User(1, "u", role, disabled_at=datetime(2024, 1, 1) if disabled else None)

    assert user("viewer").can("metrics") and not user("viewer").can("contacts")
    assert user("agent").can("contacts") and user("agent").can("queue")
    assert not user("agent").can("metrics") and not user("agent").can("label")
    assert user("analyst").can("label") and not user("analyst").can("users")
    assert all(user("admin").can(p) for p in ("metrics", "contacts", "label", "users"))
    assert not user("admin", disabled=True).can("metrics")
    assert not user("nobody").can("metrics")
