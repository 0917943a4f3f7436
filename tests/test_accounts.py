"""Accounts for a shared server (qa/app/accounts.py, `qa users`): only a salted hash is kept, a wrong password is
refused, and the password never travels in the command line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.app.accounts import UsersFile, password_hash, password_matches
from qa.errors import QAError

from .conftest import ROOT


@settings(max_examples=10, deadline=None)
@given(st.text(min_size=8, max_size=40), st.text(min_size=1, max_size=40))
def test_a_password_matches_its_own_salted_hash_only(password, other):
    stored = password_hash(password)
    assert password_matches(password, stored) and password not in stored
    assert password_matches(other, stored) == (other == password)
    assert password_hash(password) != stored  # a new salt each time


def test_the_users_file_keeps_roles_and_hashes_and_refuses_wrong_passwords(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    assert users.add("alice", "editor", "correct horse") and users.add("bob", "reader", "battery staple")
    assert not users.add("bob", "editor", "battery staple 2")  # an existing account: role and password set again
    assert users.verify("alice", "correct horse").may_edit and users.verify("bob", "battery staple 2").role == "editor"
    assert users.verify("alice", "wrong password") is None and users.verify("nobody", "correct horse") is None
    text = (tmp_path / "users.json").read_text()
    assert "correct horse" not in text and "battery" not in text
    assert stat.S_IMODE(os.stat(tmp_path / "users.json").st_mode) == 0o600
    users.remove("bob")
    assert set(users.accounts()) == {"alice"}
    with pytest.raises(QAError, match="there is no user 'bob'"):
        users.remove("bob")
    with pytest.raises(QAError, match="the role must be reader or editor"):
        users.add("carol", "admin", "long enough")
    with pytest.raises(QAError, match="use at least 8"):
        users.add("carol", "reader", "short")


def test_qa_users_reads_the_password_from_stdin_never_from_the_command_line(tmp_path):
    path = tmp_path / "users.json"
    command = [sys.executable, "-m", "qa.app.cli", "users", "add", "dora", "--role", "reader", "--users", str(path)]
    done = subprocess.run(command, input="a secret passphrase\n", capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "a secret passphrase" not in " ".join(command) + done.stdout + done.stderr
    assert UsersFile(path).verify("dora", "a secret passphrase").role == "reader"
    listed = subprocess.run([sys.executable, "-m", "qa.app.cli", "users", "list", "--users", str(path)], capture_output=True, text=True, cwd=ROOT)
    assert listed.stdout.split() == ["dora", "reader"] and "scrypt" not in listed.stdout
    assert json.loads(path.read_text())["users"]["dora"]["password"].startswith("scrypt$")
