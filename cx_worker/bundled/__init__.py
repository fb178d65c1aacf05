"""What ships inside the distribution: the prompts, the disposition taxonomy, the default governance suite, the
labelled datasets (exemplars, reference labels and summaries, probe sets) and the sample night's contacts.

In a checkout these are links to the repository's top-level `prompts/`, `config/`, `evals/` and `data/contacts/`
(where people edit them); a built wheel holds copies. Either way they are read from here, through
`importlib.resources`, never relative to a checkout, so an installed `cx-worker` runs from any directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["bundled_path"]


def bundled_path(*parts: str) -> Path:
    """The path of a bundled file or folder, e.g. `bundled_path("prompts", "after_call_work.j2")`."""
    return Path(str(files(__name__).joinpath(*parts)))
