"""Custom questions: per-contact questions the ops team declares in YAML, answered in the after-call-work call.

Their answers are typed (boolean, text, number, choice) and null when the transcript does not tell.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, create_model

_TYPES: dict[str, Any] = {"boolean": bool, "text": str, "number": float}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str = "boolean"
    options: tuple[str, ...] = ()


def load_questions(path: Path | None) -> tuple[Question, ...]:
    """Read the ops team's questions file; a missing file means no questions."""
    if path is None or not Path(path).exists():
        return ()
    data = yaml.safe_load(Path(path).read_text()) or {}
    out = []
    for q in data.get("questions") or []:
        qid, kind = str(q["id"]), q.get("type", "boolean")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", qid):
            raise ValueError(f"{path}: question id {qid!r} must be lower-case letters, digits and underscores")
        if kind not in (*_TYPES, "choice"):
            raise ValueError(f"{path}: question {qid!r} has unknown type {kind!r}")
        options = tuple(str(o) for o in q.get("options", ()))
        if kind == "choice" and not options:
            raise ValueError(f"{path}: choice question {qid!r} needs options")
        out.append(Question(qid, str(q["question"]), kind, options))
    if len({q.id for q in out}) != len(out):
        raise ValueError(f"{path}: question ids must be unique")
    return tuple(out)


def answers_model(questions: tuple[Question, ...]) -> type[BaseModel] | None:
    """The pydantic model of the answers (None without questions); each field's description is its question."""
    if not questions:
        return None
    fields = {}
    for q in questions:
        kind = Literal[q.options] if q.type == "choice" else _TYPES[q.type]  # type: ignore[valid-type]
        extra = {"max_length": 200} if q.type == "text" else {}
        fields[q.id] = (kind | None, Field(default=None, description=q.question + " Null if the transcript does "
                                                                              "not tell.", **extra))
    return create_model("CustomAnswers", __doc__="Answers to the ops team's questions about this contact.", **fields)


def tally(answers: list[dict[str, Any]], questions: tuple[Question, ...]) -> dict[str, dict[str, Any]]:
    """Answers across a batch: counts per value (booleans, choices, text) or mean and count (numbers)."""
    out: dict[str, dict[str, Any]] = {}
    for q in questions:
        values = [a.get(q.id) for a in answers]
        if q.type == "number":
            nums = [float(v) for v in values if isinstance(v, (int, float))]
            out[q.id] = {"question": q.question, "answered": len(nums),
                         "mean": round(sum(nums) / len(nums), 3) if nums else None}
        else:
            counts = Counter("unknown" if v is None else ("yes" if v is True else "no" if v is False else str(v))
                             for v in values)
            out[q.id] = {"question": q.question, "answered": len(values) - counts.get("unknown", 0),
                         "counts": dict(counts.most_common(10))}
    return out
