"""Accounts for a shared server: who may log in, and what each may do.

A users file (JSON, written atomically, readable by its owner only) holds each account's role and a salted hash of
its password, never the password: scrypt from Python's hashlib (n=2^14, r=8, p=1, 16 random bytes of salt), checked
in constant time. A *reader* may ask and open citations; an *editor* may also add and remove documents. `qa users`
manages the file; `qa serve --users FILE` (or QA_USERS_FILE) requires a login, and the server's callbacks check the
role themselves, so a reader's request to remove a document is refused however it is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.files import write_atomically

ROLES = ("reader", "editor")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Account:
    name: str
    role: str

    @property
    def may_edit(self) -> bool:
        return self.role == "editor"


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, maxmem=64 * 2**20, **SCRYPT)
    return "scrypt${n}${r}${p}$".format(**SCRYPT) + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32, maxmem=64 * 2**20)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


class UsersFile:
    """The accounts in ``path``; every problem with the file is one line naming it and the fix."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def accounts(self) -> dict[str, dict]:
        fix = f"create it with `qa users add NAME --role editor --users {self.path}`"
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise QAError(f"the users file {self.path} does not exist; {fix}.") from None
        except OSError as exc:
            raise QAError(f"the users file {self.path} cannot be read ({exc.strerror}); check its permissions.") from None
        try:
            data = json.loads(text)
            users = data["users"]
            if not isinstance(users, dict) or not all(isinstance(u, dict) and u.get("role") in ROLES and isinstance(u.get("password"), str) for u in users.values()):
                raise ValueError("every account needs a role (reader or editor) and a password hash")
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"the users file {self.path} is not a users file ({exc}); fix it, or move it aside and {fix}.") from None
        return users

    def verify(self, name: str, password: str) -> Account | None:
        """The account when the password is its own; None otherwise (an unknown name costs the same time)."""
        record = self.accounts().get(name)
        stored = record["password"] if record else password_hash(secrets.token_hex(8))
        return Account(name, record["role"]) if password_matches(password, stored) and record else None

    def role_of(self, name: str | None) -> str | None:
        record = self.accounts().get(name or "")
        return record["role"] if record else None

    def add(self, name: str, role: str, password: str) -> bool:
        """Add the account, or set its role and password; True when it is new."""
        if not NAME.match(name):
            raise QAError(f"the user name {name!r} is not allowed; use 1 to 64 letters, digits, '.', '_', '@' or '-'.")
        if role not in ROLES:
            raise QAError(f"the role must be reader or editor. Currently, it is {role!r}.")
        if len(password) < MIN_PASSWORD:
            raise QAError(f"the password is {len(password)} characters long; use at least {MIN_PASSWORD}.")
        users = self.accounts() if self.path.exists() else {}
        new = name not in users
        users[name] = {"role": role, "password": password_hash(password)}
        self._write(users)
        return new

    def remove(self, name: str) -> None:
        users = self.accounts()
        if name not in users:
            raise QAError(f"there is no user {name!r} in {self.path}; `qa users list --users {self.path}` shows who there is.")
        del users[name]
        self._write(users)

    def _write(self, users: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps({"users": dict(sorted(users.items()))}, indent=1) + "\n")
        os.chmod(self.path, 0o600)
