"""Run folders of every kind the site shows, made offline once per session: a chat model behind the loopback
server (retries, invalid and hostile answers), simulated respondents (sampled and exact), a words-generate
run (stories), and a study folder of two cells with study.json and study.csv."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import probe
from probe.testing import ChatServer, FaultPlan, default_respondent

HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> I cannot choose"


def hostile_respondent(prompt: str, seed, index: int):
    """The loopback server's respondent, except that about one request in six gets a hostile refusal and one in
    six an ambiguous answer (so the run has invalid answers of two kinds)."""
    answer, top = default_respondent(prompt, seed, index)
    pick = int(hashlib.sha256(f"{prompt}|{seed}".encode()).hexdigest(), 16) % 6
    if pick == 0:
        answer = HOSTILE
    elif pick == 1:
        answer = "1 or 2"
    return answer, top


def story_respondent(prompt: str, seed, index: int):
    words = ["quantum", "state", "word", "model", "cat", "dog", "the", "a", "and", "ran"]
    n = 40 + int(hashlib.sha256(prompt.encode()).hexdigest()[:4], 16) % 40
    text = " ".join(words[(i * i + n) % len(words)] for i in range(n))
    return f"Once upon a time <b onmouseover=alert(1)>{text}</b>.", {}


def _study(root: Path) -> Path:
    study = root / "sweep1"
    rows = []
    for i, temperature in enumerate((0.5, 1.0)):
        cell = study / f"cell-{i}"
        res = probe.bell(model="sim:quantum", trials=25, seed=i, n_boot=200, out=cell, progress=False)
        r = res.to_json()["result"]
        rows.append({"cell": f"cell-{i}", "temperature": temperature, "S": r["S"], "S_se": r["S_se"],
                     "N": r["n_total"]})
    with open(study / "study.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (study / "study.json").write_text(json.dumps({
        "schema": "probe-study/1", "name": "temperature sweep", "kind": "bell", "manifest_sha256": "0123456789abcdef",
        "cells": [{"id": "cell-0", "path": "cell-0", "state": "done"}, {"id": "cell-1", "path": "cell-1",
                                                                         "state": "done"},
                  {"id": "cell-2", "path": "cell-2", "state": "pending"}]}))
    return study


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory) -> Path:
    """A folder of run folders; tests copy it before changing anything in it."""
    root = tmp_path_factory.mktemp("view") / "runs"
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-test-view-fixture-key"
    try:
        faults = FaultPlan(rate=0.2, kinds=("429",), seed=3, retry_after_s=0.01)
        with ChatServer(respondent=hostile_respondent, faults=faults) as srv:
            probe.bell(model="openai:loop-model", trials=10, base_url=srv.url, n_boot=200, out=root / "bell-chat",
                       progress=False)
        with ChatServer(respondent=story_respondent) as srv:
            probe.words(generate=True, model="openai:story-model", n_stories=3, min_words=1, base_url=srv.url,
                        n_resamples=0, out=root / "stories", progress=False)
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old
    probe.bell(model="sim:quantum", trials=20, n_boot=200, out=root / "bell-sim", progress=False)
    probe.bell(model="sim:quantum", mode="exact", orders=2, out=root / "bell-exact", progress=False)
    _study(root)
    return root


@pytest.fixture
def runs(runs_root, tmp_path) -> Path:
    """A private copy of the run folders."""
    dest = tmp_path / "runs"
    shutil.copytree(runs_root, dest, ignore=shutil.ignore_patterns("_site"))
    return dest
