"""Outcome classifier speed at 10k exemplars: ms per contact, and embeddings per second.

Run from the repository root: ``.venv/bin/python -m bench.classify [--exemplars 10000] [--real 300]``.

What is measured, separately:

- **embed**: MiniLM embeddings of real exemplar documents (first 2 + last 6 turns, redacted), per second, and the
  embedding of the query contacts in ms per contact. The embedding dominates; it is the same work the vector
  store would do on `query_texts`.
- **classify**: per contact, with its document and document vector already computed (as the nightly run has
  them): Chroma HNSW query (k neighbours, in a persistent store of N exemplars) + similarity-weighted vote + turn
  signals + outcome words + fusion model. Batched (64 contacts per query, as the nightly run and `cx-worker
  classify` do) and one contact per call.

The 10k exemplars are synthetic: the vectors of `--real` real exemplars (ABCD + TweetSumm from
evals/datasets/exemplars.jsonl), each copied with Gaussian noise added and renormalised (cosine to its source
~0.9), keeping the source's label, signals and document (the outcome-words model learns from the documents).
Query contacts are the 48 real sample contacts
(data/contacts/sample.jsonl, never exemplars), cycled to `--queries`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from cx_worker.models import Interaction
from cx_worker.outcomes.classify import classify
from cx_worker.outcomes.embeddings import MiniLMEmbedding
from cx_worker.outcomes.exemplars import _metadata, document, read_exemplars
from cx_worker.outcomes.fusion import fit_from_collection

PROJECT_ROOT = Path(__file__).resolve().parent.parent
from cx_worker.outcomes.signals import detect


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exemplars", type=int, default=10_000, help="exemplars in the store")
    parser.add_argument("--real", type=int, default=300, help="real exemplars embedded (and perturbed into N)")
    parser.add_argument("--queries", type=int, default=256, help="contacts classified")
    parser.add_argument("--k", type=int, default=7)
    parser.add_argument("--noise", type=float, default=0.022, help="per-dimension noise of the synthetic copies")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    real = list(read_exemplars(PROJECT_ROOT / "evals" / "datasets" / "exemplars.jsonl"))
    real = [real[i] for i in sorted(rng.choice(len(real), size=min(args.real, len(real)), replace=False))]
    docs = [document(ex.interaction) for ex in real]
    embed = MiniLMEmbedding()
    embed(["warm up the onnxruntime session"])
    vectors, seconds = _timed(embed, docs)
    vectors = np.asarray(vectors, dtype=np.float32)
    tokens = np.mean([embed.count_tokens(d) for d in docs])
    figures = {"embeddings_per_second": len(docs) / seconds, "embedded_documents": len(docs),
               "mean_tokens_per_document": float(tokens)}

    # Synthetic exemplars: noisy copies of the real vectors, with the source's label and signals.
    source = rng.integers(0, len(real), size=args.exemplars)
    noisy = vectors[source] + rng.normal(scale=args.noise, size=(args.exemplars, vectors.shape[1]))
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    metas = [_metadata(ex) for ex in real]
    figures["synthetic_cosine_to_source"] = float(np.mean(np.sum(noisy * vectors[source], axis=1)))

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    with tempfile.TemporaryDirectory() as folder:
        client = chromadb.PersistentClient(path=folder, settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.get_or_create_collection("bench", embedding_function=embed,
                                                     metadata={"hnsw:space": "cosine"})
        start = time.perf_counter()
        for at in range(0, args.exemplars, 5000):
            collection.add(ids=[f"syn-{i}" for i in range(at, min(at + 5000, args.exemplars))],
                           embeddings=noisy[at:at + 5000],
                           documents=[docs[s] for s in source[at:at + 5000]],
                           metadatas=[metas[s] for s in source[at:at + 5000]])
        figures["store_adds_per_second"] = args.exemplars / (time.perf_counter() - start)
        model, seconds = _timed(fit_from_collection, collection, k=args.k)
        figures["fusion_fit_seconds"] = seconds

        sample = [Interaction.model_validate_json(line) for line in
                  (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()]
        queries = [sample[i % len(sample)] for i in range(args.queries)]
        query_docs, seconds = _timed(lambda: [document(q) for q in queries])
        figures["document_ms_per_contact"] = 1000 * seconds / len(queries)
        query_vectors, seconds = _timed(embed, query_docs)
        figures["embed_query_ms_per_contact"] = 1000 * seconds / len(queries)

        collection.query(query_embeddings=query_vectors[:1], n_results=args.k + 1)  # warm the HNSW index
        start = time.perf_counter()
        for at in range(0, len(queries), 64):
            classify(queries[at:at + 64], collection=collection, k=args.k, model=model,
                     embeddings=query_vectors[at:at + 64], documents=query_docs[at:at + 64])
        figures["classify_ms_per_contact_batched"] = 1000 * (time.perf_counter() - start) / len(queries)
        start = time.perf_counter()
        for query, vector, doc in zip(queries, query_vectors, query_docs):
            classify([query], collection=collection, k=args.k, model=model, embeddings=[vector], documents=[doc])
        figures["classify_ms_per_contact_single"] = 1000 * (time.perf_counter() - start) / len(queries)
        _, seconds = _timed(lambda: [detect(q) for q in queries])
        figures["signals_ms_per_contact"] = 1000 * seconds / len(queries)
        _, seconds = _timed(collection.query, query_embeddings=query_vectors, n_results=args.k + 1,
                            include=["metadatas", "distances"])
        figures["query_ms_per_contact"] = 1000 * seconds / len(queries)

    figures.update({"exemplars": args.exemplars, "k": args.k, "queries": len(queries)})
    print(f"exemplars in the store: {args.exemplars:,} (synthetic from {len(real)} real, cosine to source "
          f"{figures['synthetic_cosine_to_source']:.2f}); k = {args.k}; {len(queries)} query contacts")
    print(f"embeddings: {figures['embeddings_per_second']:.1f} documents/s "
          f"(real exemplar documents, {tokens:.0f} tokens on average, 2 threads)")
    print(f"embed the query contact: {figures['embed_query_ms_per_contact']:.1f} ms per contact (its document, "
          f"redacted opening and closing turns: {figures['document_ms_per_contact']:.2f} ms)")
    print(f"classify (query + vote + signals + words + fusion), document and vector given: "
          f"{figures['classify_ms_per_contact_batched']:.2f} ms per contact batched by 64, "
          f"{figures['classify_ms_per_contact_single']:.2f} ms one at a time")
    print(f"  of which: Chroma query {figures['query_ms_per_contact']:.2f} ms, signals "
          f"{figures['signals_ms_per_contact']:.2f} ms per contact")
    print(f"store: {figures['store_adds_per_second']:.0f} adds/s; fusion model fit on {args.exemplars:,} exemplars: "
          f"{figures['fusion_fit_seconds']:.1f} s (with the outcome-words model)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    main()
