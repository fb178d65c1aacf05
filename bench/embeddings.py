"""Throughput of MiniLMEmbedding against padding every text to 256 tokens (Chroma's stock ONNXMiniLM_L6_V2).

Run from the repository root: ``.venv/bin/python -m bench.embeddings [--short N] [--transcripts N]``.
Texts are synthetic customer-service turns, so there is no data dependency. The reference uses the same
onnxruntime session and tokenizer with the stock behaviour (batches of 32, every text padded to 256 tokens,
longer ones cut), so the comparison is only about padding.
"""

import argparse
import random
import time

import numpy as np

from cx_worker.outcomes.embeddings import MiniLMEmbedding

_OPENERS = ["Hi,", "Hello,", "Good morning,", "Hey there,", "Yes,", "Sorry,", "Okay,", "Thanks,"]
_REQUESTS = [
    "I was charged twice for my last order",
    "my broadband keeps dropping in the evening",
    "I need to change the delivery address on my parcel",
    "can you tell me when my refund will arrive",
    "I'd like to cancel my mobile contract",
    "the engineer didn't turn up for the appointment",
    "I can't log in to the app after the update",
    "could you send me a copy of my latest bill",
]
_CLOSERS = ["please.", "today if possible.", "thank you.", "as soon as you can.", "", "before Friday."]
_AGENT = [
    "Agent: I'm sorry to hear that, let me pull up your account and check what happened with this one.",
    "Agent: I can see the payment on our side; I'll raise a ticket with billing and you'll get an email.",
    "Agent: Thanks for holding, I've run a line test and there is a fault at the exchange near you.",
    "Agent: I've updated the address, and you'll receive a confirmation text within the next hour.",
]


def _short_turns(count: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(_OPENERS)} {rng.choice(_REQUESTS)} {rng.choice(_CLOSERS)}".strip() for _ in range(count)]


def _transcripts(count: int, rng: random.Random, embed: MiniLMEmbedding) -> list[str]:
    transcripts = []
    for _ in range(count):
        target = rng.randint(300, 800)
        turns: list[str] = []
        while embed.count_tokens(" ".join(turns)) < target:
            turns.append(f"Customer: {_short_turns(1, rng)[0]} {rng.choice(_AGENT)}")
        transcripts.append(" ".join(turns))
    return transcripts


def _pad_to_256(embed: MiniLMEmbedding, texts: list[str]) -> list[np.ndarray]:
    """The stock behaviour: [CLS] + at most 254 tokens + [SEP], padded to 256, batches of 32."""
    tokenizer, session = embed._load()
    ids_per_text = [encoding.ids[:254] for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]
    vectors = []
    for start in range(0, len(texts), 32):
        batch = ids_per_text[start : start + 32]
        input_ids = np.zeros((len(batch), 256), dtype=np.int64)
        attention_mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids) + 2] = [101, *ids, 102]
            attention_mask[row, : len(ids) + 2] = 1
        (hidden,) = session.run(
            None, {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": np.zeros_like(input_ids)}
        )
        mask = attention_mask[..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        vectors.extend(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return vectors


def _texts_per_second(function, texts: list[str]) -> float:
    function(texts[:8])  # warm-up: session creation, first-run allocations
    started = time.perf_counter()
    function(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=512, help="short turns for MiniLMEmbedding")
    parser.add_argument("--reference", type=int, default=128, help="short turns for the pad-to-256 reference")
    parser.add_argument("--transcripts", type=int, default=40, help="transcripts of 300-800 tokens")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default 2)")
    args = parser.parse_args()

    rng = random.Random(20261123)
    embed = MiniLMEmbedding(threads=args.threads)
    short = _short_turns(args.short, rng)
    transcripts = _transcripts(args.transcripts, rng, embed)

    # Same vectors for short texts: padding changes the speed, not the result.
    drift = max(float(np.abs(a - b).max()) for a, b in zip(embed(short[:32]), _pad_to_256(embed, short[:32])))
    short_tokens = np.mean([embed.count_tokens(text) for text in short])
    transcript_tokens = [embed.count_tokens(text) for text in transcripts]
    minilm_short = _texts_per_second(embed, short)
    reference_short = _texts_per_second(lambda texts: _pad_to_256(embed, texts), short[: args.reference])
    minilm_transcripts = _texts_per_second(embed, transcripts)

    print(f"threads: {args.threads or 2}")
    print(f"short_texts: {len(short)}")
    print(f"short_mean_tokens: {short_tokens:.1f}")
    print(f"short_max_abs_diff_vs_pad256: {drift:.2e}")
    print(f"short_texts_per_second_minilm: {minilm_short:.1f}")
    print(f"short_texts_per_second_pad256_reference: {reference_short:.1f}")
    print(f"short_speedup: {minilm_short / reference_short:.1f}x")
    print(f"transcripts: {len(transcripts)}")
    print(f"transcript_mean_tokens: {np.mean(transcript_tokens):.0f}")
    print(f"transcript_mean_windows: {np.mean([embed.count_chunks(text) for text in transcripts]):.2f}")
    print(f"transcripts_per_second_minilm: {minilm_transcripts:.2f}")


if __name__ == "__main__":
    main()
