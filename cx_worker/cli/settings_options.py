"""Settings on the command line: `--set KEY=VALUE` (any setting, repeatable) and `--data-dir`, on every command.

Every setting is first an environment variable (`CX_LLM_BASE_URL`); `cx-worker settings` lists them all with their
descriptions and current values. The options of earlier versions (`--llm-base-url VALUE`, one per setting) are still
accepted, hidden from `--help` so each command's help shows its own options. Options become `CX_*` variables before
`Settings` is built, so the flows, which read the environment, see them too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from cx_worker.settings import Settings

_SECRET = ("llm_api_key", "webhook_secret", "store_url")


def _env_name(key: str) -> str:
    return f"CX_{key.strip().replace('-', '_').upper()}"


def _apply_set(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    for item in values:
        key, sep, value = item.partition("=")
        name = key.strip().replace("-", "_").lower()
        if not sep or name not in Settings.model_fields:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE with KEY a setting (see `cx-worker settings`)")
        os.environ[_env_name(name)] = value
    return values


def _apply_one(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            os.environ[_env_name(name)] = str(value)
        return value

    return callback


def settings_options(command: Callable | None = None, *, show: tuple[str, ...] = ()) -> Callable:
    """Add `--set KEY=VALUE`, `--data-dir DIR` and the per-setting options to a command; those in `show` appear in
    its help, the others are hidden."""
    if command is None:
        return lambda c: settings_options(c, show=show)
    for name, field in reversed(list(Settings.model_fields.items())):
        if name in ("limit", "data_dir"):
            continue  # nightly has --limit/--all; --data-dir is shown below
        command = click.option(f"--{name.replace('_', '-')}", f"setting_{name}", default=None,
                               hidden=name not in show, metavar="VALUE",
                               expose_value=False, is_eager=True, callback=_apply_one(name),
                               help=f"{field.description} [{_env_name(name)}]")(command)
    command = click.option("--data-dir", "setting_data_dir", default=None, metavar="DIR", expose_value=False,
                           is_eager=True, callback=_apply_one("data_dir"),
                           help="Where the store, Chroma, reports and models live [CX_DATA_DIR, default .cx].")(command)
    return click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", expose_value=False, is_eager=True,
                        callback=_apply_set,
                        help="Any setting for this run (e.g. --set llm_base_url=http://…); repeatable. "
                             "`cx-worker settings` lists them.")(command)


def describe_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(environment variable, current value, description) of every setting; secrets shown as set or not."""
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = ("(set)" if value else "(unset)") if name in _SECRET else ("" if value is None else str(value))
        rows.append((_env_name(name), shown, field.description or ""))
    return rows
