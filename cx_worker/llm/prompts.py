"""Prompt templates: every prompt is a Jinja2 file in `prompts/`, loaded by one environment.

The content hash of a template is recorded with every output it produced, so an audit can tell
which wording wrote which note.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cx_worker.bundled import bundled_path

PROMPTS_DIR = bundled_path("prompts")


@lru_cache(maxsize=4)
def environment(folder: Path = PROMPTS_DIR) -> Environment:
    """The one Jinja2 environment prompts are rendered with."""
    return Environment(
        loader=FileSystemLoader(str(folder)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def template_hash(name: str, *, folder: Path = PROMPTS_DIR) -> str:
    """sha256 (first 16 hex digits) of a template file's bytes."""
    return hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]


def render(name: str, *, folder: Path = PROMPTS_DIR, **context: object) -> str:
    """Render template `name` with `context`; a missing variable is an error, never blank."""
    return environment(folder).get_template(name).render(**context)


def templates(*, folder: Path = PROMPTS_DIR) -> list[str]:
    """Names of every template in the prompts folder."""
    return sorted(p.name for p in folder.glob("*.j2"))


def render_parts(name: str, *, folder: Path = PROMPTS_DIR, **context: object) -> dict[str, str]:
    """Render every macro of a template (e.g. `system`, `user`) into a dict of message texts.

    One file holds a prompt's messages, so one hash covers them all.
    """
    module = environment(folder).get_template(name).make_module(dict(context))
    return {
        part: str(getattr(module, part)()).strip()
        for part in ("system", "user")
        if callable(getattr(module, part, None))
    }
