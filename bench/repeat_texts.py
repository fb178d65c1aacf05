"""Could one embedding a contact serve both the kNN vote and repeat linking? Issue texts vs documents, measured.

Run from the repository root: ``.venv/bin/python -m bench.repeat_texts``.

Repeat linking asks whether two contacts of the same customer are about the same issue; it compares the contacts'
*issue texts* (`repeats.issue_text`: the customer's opening sentences). The kNN vote embeds the *document*
(`exemplars.document`: opening and closing turns). If the document vector linked repeats as well, each contact
would need one embedding instead of two. Over every pair of the ABCD exemplars (redacted as the run redacts them),
"same issue" is "same ABCD subflow" (e.g. two "change my delivery" chats): the script prints, for each text,
average precision of the pair similarity for same-subflow (and same-flow) pairs, recall and precision at
thresholds, the document threshold with the recall the issue text has at `repeat_similarity` 0.6, and the two
real repeat-test pairs of `tests/unit/test_repeats.py`.
"""

from __future__ import annotations

import numpy as np

from bench._common import SAMPLE, load, sample_contacts
from cx_worker.outcomes.embeddings import shared_embedding
from cx_worker.outcomes.exemplars import document, read_exemplars
from cx_worker.outcomes.repeats import issue_text
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
# tests/unit/test_repeats.py: one real repeat (same persona, same delivery issue), one pair of different issues.
PAIRS = (("abcd-dev-315", "abcd-dev-792", "repeat"), ("abcd-dev-284", "abcd-dev-780", "different issues"))


def _average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    ranked = relevant[np.argsort(-scores)]
    hits = np.cumsum(ranked)
    return float((hits / np.arange(1, len(ranked) + 1) * ranked).sum() / ranked.sum())


def main() -> None:
    embed = shared_embedding()
    exemplars = [e for e in read_exemplars(Settings().exemplars) if e.interaction.metadata.get("subflow")]
    redacted = [redact_interaction(e.interaction)[0] for e in exemplars]
    subflow = np.array([e.interaction.metadata["subflow"] for e in exemplars])
    flow = np.array([e.interaction.queue or "" for e in exemplars])
    upper = np.triu_indices(len(exemplars), 1)
    same_subflow = (subflow[:, None] == subflow[None, :])[upper]
    same_flow = (flow[:, None] == flow[None, :])[upper]
    print(f"{len(exemplars)} ABCD exemplars, {len(same_subflow)} pairs: {same_subflow.mean():.3f} share a subflow, "
          f"{same_flow.mean():.3f} a flow ({load()})")
    similarity = {}
    for name, text in (("issue text", issue_text), ("document", document)):
        vectors = np.stack(embed([text(r) for r in redacted]))
        similarity[name] = sims = (vectors @ vectors.T)[upper]
        print(f"{name}: average precision, same subflow {_average_precision(sims, same_subflow):.3f}, same flow "
              f"{_average_precision(sims, same_flow):.3f}")
        for t in THRESHOLDS:
            linked = sims >= t
            print(f"  similarity >= {t}: {linked.sum():6d} pairs, recall (same subflow) "
                  f"{same_subflow[linked].sum() / same_subflow.sum():.3f}, precision: same subflow "
                  f"{same_subflow[linked].mean() if linked.any() else 0:.3f}, same flow "
                  f"{same_flow[linked].mean() if linked.any() else 0:.3f}")
    at = similarity["issue text"] >= 0.6
    recall = same_subflow[at].sum() / same_subflow.sum()
    threshold = float(np.quantile(similarity["document"][same_subflow], 1 - recall))
    print(f"at the recall of issue texts at 0.6 ({recall:.3f}): precision issue text {same_subflow[at].mean():.3f}, "
          f"document {same_subflow[similarity['document'] >= threshold].mean():.3f} (threshold {threshold:.3f})")
    sample = {c.id: redact_interaction(c)[0] for c in sample_contacts(path=SAMPLE)}
    for first, later, what in PAIRS:
        for name, text in (("issue text", issue_text), ("document", document)):
            a, b = embed([text(sample[first]), text(sample[later])])
            print(f"  {what} {first} / {later}: {name} similarity {float(a @ b):.3f}")


if __name__ == "__main__":
    main()
