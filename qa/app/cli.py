"""The `qa` command: index, add, remove, docs, export-onnx (qa/app/cli_library.py); search, ask, cite, chat,
serve (qa/app/cli_answers.py); eval, fit (qa/app/cli_eval.py); users (qa/app/cli_users.py).

Commands validate their input, make one library call and print. Problems the user can fix are
QAError and print as one ``Error: ...`` line with exit code 1. Heavy libraries load inside the
commands, so ``qa --help`` is instant and a cold ``qa ask`` stays within its budget.
"""

from __future__ import annotations

import json
import os
import sys

import click

from qa.app import cli_answers, cli_eval, cli_library, cli_users
from qa.errors import QAError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class QAGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["json_output"] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QAError as exc:
            if ctx.meta.get("json_output"):
                # A script reading --json output gets a JSON object on stdout even when the command fails.
                click.echo(json.dumps({"error": str(exc)}, ensure_ascii=False))
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=QAGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa-medical", prog_name="qa")
def main():
    """Cited answers from a folder of medical documents.

    \b
    Example:
      qa index
      qa ask "What imaging for low back pain with leg weakness?"
    """


for module in (cli_library, cli_answers, cli_eval, cli_users):
    for name, command in vars(module).items():  # a group's own subcommands are kept under names starting with "_"
        if isinstance(command, click.Command) and command.callback.__module__ == module.__name__ and not name.startswith("_"):
            main.add_command(command)


if __name__ == "__main__":
    main()
