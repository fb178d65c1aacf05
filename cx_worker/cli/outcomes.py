"""Outcome commands: `classify` a file, build the `exemplars` store, `label` a contact, `outcomes evaluate`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from cx_worker.cli import EXIT_ERROR, EXIT_PASS, say
from cx_worker.cli.settings_options import settings_options
from cx_worker.ingest.source import Read, ReadOptions, read_interactions
from cx_worker.models import OUTCOME_LABELS
from cx_worker.outcomes.classifier import Classifier
from cx_worker.outcomes.corrections import CorrectionError, correct_outcome
from cx_worker.outcomes.evaluate import evaluate_outcomes, format_result
from cx_worker.outcomes.exemplars import add_exemplars, chroma_client, open_collection, read_exemplars
from cx_worker.outcomes.fusion import MODEL_FILE, ensure_model
from cx_worker.settings import Settings
from cx_worker.store import Store

LABEL = click.Choice(OUTCOME_LABELS)


@click.command()
@click.option("--input", "source", type=click.Path(path_type=Path), required=True, help="Interaction JSONL (or any "
              "source `ingest` reads).")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="One outcome per line, JSONL.")
@settings_options
def classify(source: Path, output: Path) -> int:
    """Classify contacts' outcomes (no LLM): the label, its confidence and its evidence per contact."""
    settings = Settings()
    classifier = Classifier.open(settings, repeats=False)
    good, bad = [], 0
    for item in read_interactions(source, options=ReadOptions.of(settings)):
        if isinstance(item, Read):
            good.append(item.interaction)
        else:
            bad += 1
            say(f"cx-worker classify: skipped {item.origin}: {item.reason}", file=sys.stderr)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w") as out:
        for start in range(0, len(good), 64):
            chunk = good[start:start + 64]
            for interaction, outcome in zip(chunk, classifier.classify(chunk), strict=True):
                out.write(json.dumps({"id": interaction.id, **outcome.model_dump()}) + "\n")
    say(f"classified {len(good)} contacts into {output}" + (f"; {bad} lines skipped" if bad else ""),
          file=sys.stderr)
    return EXIT_PASS


@click.command()
@click.argument("action", type=click.Choice(["build"]))
@click.option("--file", "path", type=click.Path(path_type=Path), default=None,
              help="Exemplar JSONL (default CX_EXEMPLARS, the bundled labelled contacts).")
@settings_options
def exemplars(action: str, path: Path | None) -> int:
    """Load labelled exemplars into the store (upserts) and refit the outcome fusion model."""
    settings = Settings()
    collection = open_collection(settings.chroma_path, client=chroma_client(settings))
    counts = add_exemplars(read_exemplars(path or settings.exemplars), collection=collection)
    say(f"exemplars upserted: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))});"
          f" collection now holds {collection.count()}")
    model_path = settings.models_dir / MODEL_FILE
    model = ensure_model(collection, model_path, k=settings.knn_k, refit=True)
    say(f"outcome fusion model fitted on {sum(model.trained_on.values())} exemplars: {model_path}" if model else
          "outcome fusion model not fitted (fewer than two labels): the plain kNN vote decides")
    return EXIT_PASS


@click.command()
@click.argument("interaction_id", metavar="ID")
@click.argument("new_label", metavar="LABEL", type=LABEL)
@click.option("--by", default=lambda: os.environ.get("USER") or "unknown", help="Who corrects (default $USER).")
@click.option("--reason", default="", help="Why.")
@settings_options
def label(interaction_id: str, new_label: str, by: str, reason: str) -> int:
    """Correct a contact's outcome: audited, the contact becomes an exemplar, the fusion model is refitted."""
    settings = Settings()
    try:
        record = correct_outcome(interaction_id, new_label, by=by, reason=reason, store=Store(settings.store_target),
                                 collection=open_collection(settings.chroma_path, client=chroma_client(settings)),
                                 model_path=settings.models_dir / MODEL_FILE, k=settings.knn_k)
    except CorrectionError as exc:
        say(f"cx-worker label: {exc}", file=sys.stderr)
        return EXIT_ERROR
    say(f"{interaction_id}: {record.old_label or '(no outcome)'} -> {record.new_label} by {record.corrected_by} "
          f"at {record.created_at}; added as an exemplar, fusion model refitted")
    return EXIT_PASS


@click.command()
@click.argument("action", type=click.Choice(["evaluate"]))
@click.argument("more_seeds", nargs=-1, type=int, metavar="")  # `--seeds 0 1 2`, as earlier versions took it
@click.option("--folds", type=int, default=5, show_default=True)
@click.option("--seeds", type=int, multiple=True, default=(0, 1, 2), show_default=True,
              help="Fold assignments to repeat over (repeat the option: --seeds 0 --seeds 1).")
@click.option("--rubric-only", is_flag=True,
              help="TweetSumm labels from the summary rubric (default: the careful readings).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@settings_options
def outcomes(action: str, more_seeds: tuple[int, ...], folds: int, seeds: tuple[int, ...], rubric_only: bool,
             as_json: bool) -> int:
    """Cross-validated outcome metrics on the labelled data (per class, confusion matrix, calibration)."""
    settings = Settings()
    result = evaluate_outcomes(settings, folds=folds, seeds=[*seeds, *more_seeds], rubric_only=rubric_only)
    out = settings.data_dir / "evals" / "outcomes_cv.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    say(json.dumps(result) if as_json else format_result(result))
    say(f"written: {out}", file=sys.stderr)
    return EXIT_PASS
