"""`qa users`: the accounts of a shared server (qa/app/accounts.py). A password is read from the terminal (asked
twice) or from standard input, never from the command line, where `ps` and the shell's history would show it."""

from __future__ import annotations

import getpass
import sys

import click

from qa.errors import QAError

USERS_FILE = click.option("--users", "users_file", envvar="QA_USERS_FILE", required=True, type=click.Path(dir_okay=False),
                          help="The users file (also QA_USERS_FILE).")


@click.group()
def users():
    """Manage who may log in to `qa serve --users FILE`, and what each may do.

    \b
    Example:
      qa users add alice --role editor --users users.json      # asks for the password twice
      printf '%s\\n' "$PASSWORD" | qa users add bob --role reader --users users.json
      qa users list --users users.json
      qa users remove bob --users users.json
    """


@users.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "editor"]), required=True, help="reader: asks and opens citations; editor: also adds and removes documents.")
@USERS_FILE
def _add(name, role, users_file):
    """Add an account (or set an existing one's role and password); the password is read from the terminal or stdin."""
    from qa.app.accounts import UsersFile

    new = UsersFile(users_file).add(name, role, _read_password())
    click.echo(f"{'Added' if new else 'Updated'} {name} ({role}) in {users_file}.")


@users.command(name="list")
@USERS_FILE
def _list(users_file):
    """The accounts and their roles (never their passwords)."""
    from qa.app.accounts import UsersFile

    accounts = UsersFile(users_file).accounts()
    for name, record in accounts.items():
        click.echo(f"{name}\t{record['role']}")
    if not accounts:
        click.echo(f"No accounts in {users_file}; add one with `qa users add NAME --role editor --users {users_file}`.", err=True)


@users.command(name="remove")
@click.argument("name")
@USERS_FILE
def _remove(name, users_file):
    """Remove an account."""
    from qa.app.accounts import UsersFile

    UsersFile(users_file).remove(name)
    click.echo(f"Removed {name} from {users_file}.")


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise QAError("the two passwords differ; run the command again.")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise QAError("no password on standard input; type it at the prompt (run in a terminal) or pipe it in, one line.")
    return line
