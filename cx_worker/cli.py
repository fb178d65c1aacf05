"""`cx-worker`: the command line. Every setting is also an option (`--llm-base-url` for `CX_LLM_BASE_URL`).

This is the composition root: the one place that imports the flows, lazily, to run them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cx_worker.settings import Settings

# Quiet, offline-friendly defaults for the libraries we drive; the user's environment wins.
for _k, _v in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "ANONYMIZED_TELEMETRY": "False",
               "PREFECT_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)

EXIT_PASS, EXIT_BREACH, EXIT_ERROR = 0, 1, 2


def _settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (each also read from its CX_* environment variable)")
    for name, field in Settings.model_fields.items():
        if name == "limit":
            continue  # nightly has --limit/--all
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"setting_{name}", default=None, metavar="VALUE",
                           help=f"{field.description} [CX_{name.upper()}]")


def _apply_settings(args: argparse.Namespace) -> Settings:
    """Options become CX_* variables (so flows, which read the environment, see them too), then Settings."""
    for key, value in vars(args).items():
        if key.startswith("setting_") and value is not None:
            os.environ[f"CX_{key.removeprefix('setting_').upper()}"] = str(value)
    return Settings()


def cmd_nightly(args: argparse.Namespace, settings: Settings) -> int:
    if args.verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    from flows.nightly import nightly_for

    summary = nightly_for(settings)(limit=args.limit, all_contacts=args.all,
                      progress=not args.json and sys.stderr.isatty() or args.progress)
    if args.json:
        print(json.dumps(summary))
    else:
        from cx_worker.ops.summary import summary_text

        print(summary_text(summary))
    return EXIT_PASS if summary["eval"]["verdict"] == "pass" else EXIT_BREACH


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.ingest.source import Read, read_interactions
    from cx_worker.outcomes.classifier import Classifier

    classifier = Classifier.open(settings, repeats=False)
    good, bad = [], 0
    for item in read_interactions(args.input):
        if isinstance(item, Read):
            good.append(item.interaction)
        else:
            bad += 1
            print(f"cx-worker classify: skipped {item.origin}: {item.reason}", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w") as out:
        for start in range(0, len(good), 64):
            chunk = good[start:start + 64]
            for interaction, outcome in zip(chunk, classifier.classify(chunk)):
                out.write(json.dumps({"id": interaction.id, **outcome.model_dump()}) + "\n")
    print(f"classified {len(good)} contacts into {args.output}" + (f"; {bad} lines skipped" if bad else ""),
          file=sys.stderr)
    return EXIT_PASS


def cmd_exemplars(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.outcomes.exemplars import add_exemplars, open_collection, read_exemplars

    collection = open_collection(settings.chroma_path)
    counts = add_exemplars(read_exemplars(args.file or settings.exemplars), collection=collection)
    print(f"exemplars upserted: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))});"
          f" collection now holds {collection.count()}")
    from cx_worker.outcomes.fusion import MODEL_FILE, ensure_model

    path = settings.models_dir / MODEL_FILE
    model = ensure_model(collection, path, k=settings.knn_k, refit=True)
    print(f"outcome fusion model fitted on {sum(model.trained_on.values())} exemplars: {path}" if model else
          "outcome fusion model not fitted (fewer than two labels): the plain kNN vote decides")
    return EXIT_PASS


def cmd_label(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.outcomes.corrections import CorrectionError, correct_outcome
    from cx_worker.outcomes.exemplars import open_collection
    from cx_worker.outcomes.fusion import MODEL_FILE
    from cx_worker.store import Store

    try:
        record = correct_outcome(args.id, args.label, by=args.by, reason=args.reason or "",
                                 store=Store(settings.store_path), collection=open_collection(settings.chroma_path),
                                 model_path=settings.models_dir / MODEL_FILE, k=settings.knn_k)
    except CorrectionError as exc:
        print(f"cx-worker label: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.id}: {record['old_label'] or '(no outcome)'} -> {record['new_label']} by {record['corrected_by']} "
          f"at {record['created_at']}; added as an exemplar, fusion model refitted")
    return EXIT_PASS


def cmd_outcomes(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.outcomes.evaluate import evaluate_outcomes, format_result

    result = evaluate_outcomes(settings, folds=args.folds, seeds=args.seeds, rubric_only=args.rubric_only)
    out = settings.data_dir / "evals" / "outcomes_cv.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result) if args.json else format_result(result))
    print(f"written: {out}", file=sys.stderr)
    return EXIT_PASS


def cmd_crm(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.delivery.crm import open_crm

    crm = open_crm(settings)
    if args.crm_command == "list":
        notes = crm.notes()
        print(json.dumps([{k: n[k] for k in ("interaction_id", "run_id", "status", "created_at", "delivered_at")}
                          | {"note_key": n["note_key"]} for n in notes]))
        return EXIT_PASS
    note = crm.visible(args.id)
    if note is None:
        held = crm.notes(args.id, status="held")
        print(f"no note visible to agents for {args.id}" + (" (a note is held pending governance release)"
                                                              if held else ""), file=sys.stderr)
        return EXIT_BREACH
    print(note["body"], end="")
    return EXIT_PASS


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from flows.evals import evals

    result = evals(args.run, use_judge=not args.no_judge)
    for metric, score in result["metrics"].items():
        print(f"{metric:22} {'n/a' if score is None else f'{score:.3f}'}")
    print(f"verdict: {result['verdict']}")
    for kind, path in result["paths"].items():
        print(f"{kind}: {path}")
    return EXIT_PASS if result["verdict"] == "pass" else EXIT_BREACH


def cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.delivery.crm import open_crm
    from cx_worker.store import Store

    if Store(settings.store_path).run(args.run) is None:
        print(f"cx-worker release: no run {args.run!r} in {settings.store_path}", file=sys.stderr)
        return EXIT_ERROR
    released = open_crm(settings).release(args.run, by=args.by, reason=args.reason)
    print(f"released {released} held notes of run {args.run} (by {args.by}: {args.reason})")
    return EXIT_PASS


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.governance.audit import audit_trail, format_trail

    trail = audit_trail(args.id, settings=settings)
    if trail is None:
        print(f"cx-worker audit: no contact {args.id!r} in {settings.store_path}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(trail, indent=2, default=str) if args.json else format_trail(trail))
    return EXIT_PASS


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.delivery.crm import open_crm
    from cx_worker.governance import review
    from cx_worker.store import Store

    store, crm = Store(settings.store_path), open_crm(settings)
    action = args.action or "list"
    try:
        if action == "list":
            queue = review.review_queue(store)
            if args.json:
                print(json.dumps(queue, default=str))
                return EXIT_PASS
            for item in queue:
                o = item["outcome"] or {}
                print(f"{item['interaction_id']}  run {item['run_id']}  outcome {o.get('label')} "
                      f"({o.get('confidence', 0):.2f})")
                for reason in item["reasons"]:
                    print(f"    - {reason}")
                if o.get("evidence"):
                    print("    nearest exemplars: " + ", ".join(f"{e['exemplar_id']} ({e['label']}, "
                                                             f"{e['similarity']:.2f})" for e in o["evidence"]))
                if item["summary"]:
                    print(f"    summary: {item['summary']}")
            print(f"{len(queue)} contacts waiting for review", file=sys.stderr)
            return EXIT_PASS
        if not args.id or not args.by:
            print(f"cx-worker review {action}: needs ID and --by NAME", file=sys.stderr)
            return EXIT_ERROR
        if action == "approve":
            review.approve(args.id, store=store, crm=crm, by=args.by, reason=args.reason or "")
        elif action == "edit":
            review.edit(args.id, store=store, crm=crm, by=args.by, reason=args.reason or "", summary=args.summary,
                        crm_note=args.note)
        elif action == "relabel":
            from cx_worker.outcomes.exemplars import open_collection

            review.relabel(args.id, args.label, store=store, crm=crm, collection=open_collection(settings.chroma_path),
                           by=args.by, reason=args.reason or "")
    except (review.ReviewError, ValueError) as exc:
        print(f"cx-worker review {action}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.id}: {action} by {args.by} recorded")
    return EXIT_PASS


def cmd_llm(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.llm.server import serve_forever

    serve_forever(settings, port=args.port)
    return EXIT_PASS


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.ingest.convert import ingest

    side = args.metadata_output or args.output.with_name(args.output.name.removesuffix(".jsonl") + ".metadata.jsonl")
    report = ingest(args.paths, output=args.output, metadata_output=side)
    for problem in report.problems:
        print(f"cx-worker ingest: {problem}", file=sys.stderr)
    print(f"wrote {report.written} interactions to {args.output}"
          + (f"; {report.metadata_only} metadata-only records (no transcript) to {side}" if report.metadata_only else "")
          + (f"; {len(report.problems)} files or records could not be read" if report.problems else ""),
          file=sys.stderr)
    return EXIT_BREACH if report.problems else EXIT_PASS


def cmd_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.store import Store

    rows = Store(settings.store_path).quarantined(run_id=args.run)
    if args.json:
        print(json.dumps(rows))
    for r in rows if not args.json else []:
        print(f"{r['created_at']}  run {r['run_id']}  {r['origin']}  [{r['stage']}] {r['reason']}")
    return EXIT_PASS


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from cx_worker.models import write_schemas

    for path in write_schemas(args.folder):
        print(path)
    return EXIT_PASS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx-worker", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nightly", help="run the nightly flow over new contacts")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--limit", type=int, help="contacts this run (default CX_LIMIT, 12)")
    size.add_argument("--all", action="store_true", help="every new contact")
    p.add_argument("--json", action="store_true", help="last line printed is the run summary as JSON")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    p.add_argument("--verbose", action="store_true", help="Prefect's INFO logs")
    p.set_defaults(func=cmd_nightly)

    p = sub.add_parser("classify", help="classify contacts' outcomes (no LLM)")
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("exemplars", help="manage the labelled exemplar store")
    p.add_argument("action", choices=["build"])
    p.add_argument("--file", type=Path, help="Exemplar JSONL (default CX_EXEMPLARS)")
    p.set_defaults(func=cmd_exemplars)

    p = sub.add_parser("label", help="correct a contact's outcome (audited; the contact becomes an exemplar)")
    p.add_argument("id")
    p.add_argument("label", choices=["resolved", "deflected", "escalated", "abandoned", "unresolved"])
    p.add_argument("--by", default=os.environ.get("USER") or "unknown", help="who corrects (default $USER)")
    p.add_argument("--reason", default="", help="why")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("outcomes", help="the outcome classifier's honest evaluation")
    p.add_argument("action", choices=["evaluate"])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold assignments to repeat over")
    p.add_argument("--rubric-only", action="store_true",
                   help="TweetSumm labels from the summary rubric "
                        "(default: from the careful reading where there is one)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=cmd_outcomes)

    p = sub.add_parser("crm", help="what agents see in the CRM")
    crm_sub = p.add_subparsers(dest="crm_command", required=True)
    show = crm_sub.add_parser("show", help="the note an agent sees for a contact")
    show.add_argument("id")
    listing = crm_sub.add_parser("list", help="every note as one JSON array")
    listing.add_argument("--json", action="store_true", help="(the output is always JSON)")
    p.set_defaults(func=cmd_crm)
    _settings_options(show)
    _settings_options(listing)

    p = sub.add_parser("eval", help="(re-)judge a stored run with the governance suite (--thresholds FILE)")
    p.add_argument("--run", required=True)
    p.add_argument("--no-judge", action="store_true", help="skip the LLM faithfulness judge (reported not measured)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("review", help="contacts waiting for a human: list, approve, edit, relabel (audited)")
    p.add_argument("action", nargs="?", choices=["list", "approve", "edit", "relabel"], default="list")
    p.add_argument("id", nargs="?")
    p.add_argument("label", nargs="?", choices=["resolved", "deflected", "escalated", "abandoned", "unresolved"])
    p.add_argument("--by", help="who decides")
    p.add_argument("--reason", help="why")
    p.add_argument("--summary", help="edit: the corrected summary")
    p.add_argument("--note", help="edit: the corrected CRM note")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("release", help="deliver a held run's notes after review (audited)")
    p.add_argument("run")
    p.add_argument("--by", required=True, help="who reviewed and releases")
    p.add_argument("--reason", required=True, help="why the notes may go to agents")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("audit", help="model, prompt hash, input hash, eval verdicts and delivery of one contact")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("llm", help="the embedded local LLM")
    p.add_argument("action", choices=["serve"])
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_llm)

    p = sub.add_parser("ingest", help="convert contact-centre exports into canonical interaction JSONL",
                       description="Exit 0: all read; 1: some files or records could not be read (each named on "
                       "stderr with why; the rest is written); 2: could not run.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="export file, folder, fsspec URL (memory://, s3://...) or SQL URL (sqlite:///x.db#table)")
    p.add_argument("--output", type=Path, required=True, help="canonical Interaction JSONL to write")
    p.add_argument("--metadata-output", type=Path, default=None,
                   help="records with metadata but no transcript (Genesys details); default OUTPUT.metadata.jsonl")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("quarantine", help="records set aside, with their reasons")
    p.add_argument("action", choices=["list"])
    p.add_argument("--run", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("schemas", help="write the JSON Schemas of the domain models")
    p.add_argument("--folder", type=Path, default=Path("schemas"))
    p.set_defaults(func=cmd_schemas)

    for name, action in sub.choices.items():
        if name != "crm":  # crm's leaves have their own
            _settings_options(action)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _apply_settings(args)
        return args.func(args, settings)
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as exc:
        print(f"cx-worker {args.command}: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
