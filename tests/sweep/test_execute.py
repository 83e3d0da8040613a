"""Running a study: known answers per cell, resume that loses and repeats nothing, dry runs, changed manifests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from probe.errors import ConfigError, RunStopped
from probe.io import read_jsonl
from probe.report import render_run
from probe.sweep import study
from probe.sweep.execute import plan_study, run_study_manifest

VISIBILITIES = (0.0, 0.25, 0.5, 0.9, 1.0)


def visibility_manifest(tmp_path: Path, values=VISIBILITIES, *, name: str = "m.toml") -> Path:
    models = ", ".join(f'"sim:quantum?visibility={v}"' for v in values)
    path = tmp_path / name
    path.write_text(f'[study]\nname = "vis"\nexperiment = "bell"\n\n[settings]\nmode = "exact"\nn_boot = 200\n\n'
                    f'[axes]\nmodel = [{models}]\n')
    return path


def test_visibility_grid_gives_the_known_S_per_cell(tmp_path):
    """sim:quantum?visibility=v is a Werner state at the Tsirelson angles: S = 2*sqrt(2)*v exactly."""
    s = study(visibility_manifest(tmp_path), out=tmp_path / "out", progress=False, cell_report=False)
    frame = s.frame
    assert list(frame["state"]) == ["done"] * len(VISIBILITIES)
    got = dict(zip(frame["model"], frame["estimate"], strict=True))
    for v in VISIBILITIES:
        assert got[f"sim:quantum?visibility={v}"] == pytest.approx(2 * math.sqrt(2) * v, abs=1e-9)
    assert set(frame["estimand"]) == {"S"}
    for name in ("study.parquet", "study.csv", "report.md", "forest.png", "study.json"):
        assert (tmp_path / "out" / name).is_file(), name
    import pandas as pd

    assert pd.read_parquet(tmp_path / "out" / "study.parquet")["estimate"].tolist() == frame["estimate"].tolist()
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Methods" in report and "sim:quantum?visibility=0.25" in report
    before = report
    (tmp_path / "out" / "report.md").unlink()
    render_run(tmp_path / "out")  # `probe report STUDY_DIR` rebuilds it from the folder alone
    assert (tmp_path / "out" / "report.md").read_text() == before


def _calls_and_keys(out: Path) -> tuple[int, list[str]]:
    keys = []
    for cassette in sorted(out.glob("cells/*/cassette.jsonl")):
        keys += [r["key"] for r in read_jsonl(cassette).records]
    return len(keys), keys


def test_budget_stop_then_resume_loses_and_repeats_nothing(tmp_path):
    """Stopped mid-cell by the study-wide max_calls; the rerun asks only what is missing."""
    manifest = visibility_manifest(tmp_path, (0.5, 1.0))
    out = tmp_path / "out"
    with pytest.raises(RunStopped, match="max_calls"):
        run_study_manifest(manifest, out=out, max_calls=6, progress=False, cell_report=False)
    doc = json.loads((out / "study.json").read_text())
    assert [c["state"] for c in doc["cells"]] == ["done", "stopped"]
    first, keys_first = _calls_and_keys(out)
    assert first == 6  # 4 of the first cell, 2 of the second
    run = run_study_manifest(manifest, out=out, progress=False, cell_report=False)
    assert run.skipped == 1 and run.calls == 2  # only the two missing answers
    total, keys = _calls_and_keys(out)
    assert total == 8 and len(set(keys)) == 8 and set(keys_first) <= set(keys)
    fresh = run_study_manifest(manifest, out=tmp_path / "fresh", progress=False, cell_report=False)
    assert fresh.calls == 8
    from probe.report.study_table import study_frame

    assert study_frame(out)["estimate"].tolist() == study_frame(tmp_path / "fresh")["estimate"].tolist()


def test_interrupt_between_cells_then_resume(tmp_path):
    manifest = visibility_manifest(tmp_path, (0.25, 0.5, 1.0))
    out = tmp_path / "out"

    def interrupt(cell, state):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study_manifest(manifest, out=out, progress=False, cell_report=False, on_cell=interrupt)
    states = [c["state"] for c in json.loads((out / "study.json").read_text())["cells"]]
    assert states == ["done", "pending", "pending"]
    run = run_study_manifest(manifest, out=out, progress=False, cell_report=False)
    assert run.skipped == 1 and run.calls == 8
    assert _calls_and_keys(out)[0] == 12


def test_dry_run_makes_no_call_and_writes_nothing(tmp_path, make_server, canary_key):
    srv = make_server()
    path = tmp_path / "m.toml"
    path.write_text(f'[study]\nexperiment = "bell"\n[settings]\ntrials = 5\nbase_url = "{srv.url}"\n'
                    '[axes]\nmodel = ["openai:gpt-4o-mini", "openai:gpt-4o"]\ntemperature = [0.0, 1.0]\n')
    dry = plan_study(path, out=tmp_path / "out")
    assert len(dry.cells) == 4 and dry.calls == 4 * 4 * 5
    low, high = dry.cost_range
    assert 0 < low <= high
    assert any("reasoning" in n for n in dry.notes)
    assert srv.calls == 0
    assert not (tmp_path / "out").exists()
    assert all(c.kind == "api" for c in dry.cells)
    frame = study(path, out=tmp_path / "out", dry_run=True).frame
    assert frame["calls"].sum() == 80 and (frame["cost_high"] >= frame["cost_low"]).all()
    assert srv.calls == 0 and not (tmp_path / "out").exists()


def test_changed_manifest_is_refused_with_the_difference_unless_extend(tmp_path):
    out = tmp_path / "out"
    run_study_manifest(visibility_manifest(tmp_path, (0.5,)), out=out, progress=False, cell_report=False)
    changed = visibility_manifest(tmp_path, (0.5, 1.0))
    with pytest.raises(ConfigError) as info:
        run_study_manifest(changed, out=out, progress=False, cell_report=False)
    text = str(info.value)
    assert "changed since the study" in text and "1 new cell(s)" in text and "visibility=1.0" in text
    assert "--extend" in (info.value.hint or "")
    run = run_study_manifest(changed, out=out, extend=True, progress=False, cell_report=False)
    assert run.skipped == 1 and run.calls == 4
    dropped = visibility_manifest(tmp_path, (1.0,))
    with pytest.raises(ConfigError, match="drops 1 cell"):
        run_study_manifest(dropped, out=out, extend=True, progress=False, cell_report=False)


def test_human_counts_file_is_a_row_of_the_table(tmp_path):
    counts = tmp_path / "people.csv"
    rows = ["experiment,a,b,count"]
    for ctx, cells in {"AB": (5, 40, 30, 6), "AB'": (40, 5, 6, 30), "A'B": (40, 6, 5, 30),
                       "A'B'": (40, 5, 6, 30)}.items():
        for (a, b), n in zip(((1, 1), (1, -1), (-1, 1), (-1, -1)), cells, strict=True):
            rows.append(f"{ctx},{a},{b},{n}")
    counts.write_text("\n".join(rows) + "\n")
    path = visibility_manifest(tmp_path, (1.0,))
    path.write_text(path.read_text() + '\n[[cells]]\nexperiment = "bell-counts"\ncounts = "people.csv"\n'
                    'label = "people"\nn_boot = 200\n')
    frame = study(path, out=tmp_path / "out", progress=False, cell_report=False).frame
    human = frame[frame["experiment"] == "bell-counts"].iloc[0]
    assert human["model"] == "counts:people"
    assert human["n"] == 4 * 81
    assert human["se"] > 0 and human["ci_low"] < human["estimate"] < human["ci_high"]
