"""`cx-worker`: the command line, the top of the house (CLI → flows → capabilities → store).

Each command lives in a small module loaded only when it runs (click's lazy group), so `cx-worker crm show` never
pays for importing Prefect; `cli.nightly` is the one module that reaches the flows. Exit codes: 0 done (evals
pass), 1 a governance breach or a partial result (notes held; records not read), 2 could not run, 3 not enough
evidence for a gate (see `eval`).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from cx_worker.guard.display import clean_text

# Quiet, offline-friendly defaults for the libraries we drive; the user's environment wins.
for _k, _v in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "ANONYMIZED_TELEMETRY": "False",
               "PREFECT_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)

__all__ = ["EXIT_BREACH", "EXIT_ERROR", "EXIT_INSUFFICIENT", "EXIT_PASS", "cli", "main", "say"]

EXIT_PASS, EXIT_BREACH, EXIT_ERROR, EXIT_INSUFFICIENT = 0, 1, 2, 3

# command -> (module, function, one-line help)
_COMMANDS = {
    "nightly": ("cx_worker.cli.nightly", "nightly", "Run the nightly flow over new contacts."),
    "eval": ("cx_worker.cli.nightly", "evals", "(Re-)judge a stored run with a governance suite."),
    "classify": ("cx_worker.cli.outcomes", "classify", "Classify contacts' outcomes (no LLM)."),
    "exemplars": ("cx_worker.cli.outcomes", "exemplars", "Manage the labelled exemplar store."),
    "label": ("cx_worker.cli.outcomes", "label", "Correct a contact's outcome (audited; it becomes an exemplar)."),
    "outcomes": ("cx_worker.cli.outcomes", "outcomes", "The outcome classifier's honest evaluation."),
    "crm": ("cx_worker.cli.crm", "crm", "What agents see in the CRM."),
    "release": ("cx_worker.cli.crm", "release", "Deliver a held run's notes after review (audited)."),
    "review": ("cx_worker.cli.review", "review", "Contacts waiting for a human: list, approve, edit, relabel."),
    "audit": ("cx_worker.cli.governance", "audit", "Model, prompt and input hashes, verdicts, delivery of a contact."),
    "ingest": ("cx_worker.cli.data", "ingest", "Convert contact-centre exports into canonical interaction JSONL."),
    "quarantine": ("cx_worker.cli.data", "quarantine", "Records set aside, with their reasons."),
    "schemas": ("cx_worker.cli.data", "schemas", "Write the JSON Schemas of the domain models."),
    "settings": ("cx_worker.cli.data", "settings", "Every setting: its variable, current value and meaning."),
    "llm": ("cx_worker.cli.llm", "llm", "The embedded local LLM."),
}


class _LazyGroup(click.Group):
    """Loads a command's module when the command is used (or its help is shown)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr, _ = _COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, _, short) in _COMMANDS.items()])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """A nightly batch worker for contact centres: redaction, after-call work by LLM, outcome classification,
    governance evals and CRM write-back. Settings: CX_* environment variables, or --set KEY=VALUE on any command
    (`cx-worker settings` lists them)."""


def say(*parts: object, **kwargs) -> None:
    """`print`, with what came from contacts or files (control characters, terminal escapes, bidi overrides)
    made harmless for the terminal (`guard.display.clean_text`)."""
    print(*(clean_text(str(p)) for p in parts), **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 pass, 1 breach or partial, 2 could not run, 3 insufficient evidence)."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "cx-worker")
    try:
        result = cli.main(args=args, prog_name="cx-worker", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except (KeyboardInterrupt, click.exceptions.Abort):
        return EXIT_ERROR
    except Exception as exc:
        say(f"cx-worker {command}: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_PASS
