"""Bad manifests give one line naming file, line and field; good ones give the grid they describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.cli import main
from probe.errors import ConfigError
from probe.sweep.cells import build_cells
from probe.sweep.manifest import load_manifest


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(body)
    return path


HEAD = '[study]\nname = "t"\nexperiment = "bell"\n\n[settings]\nmode = "exact"\n\n'


def one_line_error(capsys, path: Path) -> str:
    rc = main(["study", str(path), "--out", str(path.parent / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert not (path.parent / "out").exists()  # nothing half-written
    return err


@pytest.mark.parametrize(("body", "line", "field", "what"), [
    (HEAD + '[axes]\nmodel = ["sim:quantum"]\ncolour = ["red"]\n', 10, "axes.colour", "unknown setting of bell"),
    (HEAD + '[axes]\nmodel = []\n', 9, "axes.model", "empty list"),
    (HEAD + '[axes]\nmodel = ["sim:quantum"]\ntrials = ["many"]\n', 10, "axes.trials", "expected a whole number"),
    (HEAD + '[axes]\nmodel = ["sim:quantum", "nosuch:model"]\n', 9, "axes.model[1]", "nosuch"),
    (HEAD + '[axes]\nmodel = ["sim:quantum"]\norder = ["random", "sideways"]\n', 10, "axes.order",
     "expected one of random, balanced"),
    (HEAD + '[axes]\nmodel = ["sim:quantum"]\nmode = ["sample"]\n', 10, "axes.mode", "also fixed in [settings]"),
    (HEAD + '[axes]\nmodel = ["sim:quantum"]\n\n[[exclude]]\nmodel = "sim:quantum"\n', 11, "exclude",
     "every cell of the grid is excluded"),
    ('[study]\nexperiment = "bel"\n', 2, "study.experiment", "unknown experiment"),
])
def test_bad_manifest_is_one_line_with_file_line_field(tmp_path, capsys, body, line, field, what):
    path = write(tmp_path, body)
    err = one_line_error(capsys, path)
    assert f"{path}:{line}: {field}:" in err, err
    assert what in err


def test_a_setting_that_fails_validation_names_its_axis_value(tmp_path):
    path = write(tmp_path, HEAD + '[axes]\nmodel = ["sim:quantum"]\norders = [1, 30]\n')
    with pytest.raises(ConfigError) as info:
        build_cells(load_manifest(path))
    assert f"{path}:10: axes.orders[1]: 30: must be between 1 and 24" in str(info.value)


def test_product_zip_and_exclude_make_the_grid(tmp_path):
    path = write(tmp_path, HEAD + '[axes]\ntemperature = [0.0, 0.5, 1.0]\n\n[zip]\n'
                 'model = ["sim:quantum", "sim:classical"]\nseed = [1, 2]\n\n'
                 '[[exclude]]\nmodel = "sim:classical"\ntemperature = 0.5\n\n'
                 '[[cells]]\nexperiment = "bell-counts"\ncounts = "h.csv"\nlabel = "people"\n')
    cells = build_cells(load_manifest(path))
    grid = [(c.settings.get("temperature"), c.settings.get("model"), c.settings.get("seed")) for c in cells[:-1]]
    assert grid == [(0.0, "sim:quantum", 1), (0.0, "sim:classical", 2), (0.5, "sim:quantum", 1),
                    (1.0, "sim:quantum", 1), (1.0, "sim:classical", 2)]
    assert all(c.settings["mode"] == "exact" for c in cells[:-1])
    human = cells[-1]
    assert human.experiment == "bell-counts" and human.model == "counts:people"
    assert human.settings["counts"] == str(tmp_path / "h.csv")  # relative to the manifest
    assert len({c.id for c in cells}) == len(cells)


def test_glob_axis_is_sorted_and_relative_to_the_manifest(tmp_path):
    for name in ("b.safetensors", "a.safetensors"):
        (tmp_path / name).write_bytes(b"")
    path = write(tmp_path, '[study]\nexperiment = "entangle-weights"\n[axes]\npath = {glob = "*.safetensors"}\n')
    cells = build_cells(load_manifest(path))
    assert [Path(c.settings["path"]).name for c in cells] == ["a.safetensors", "b.safetensors"]
    assert all(c.kind == "compute" for c in cells)


def test_zip_lists_of_other_lengths_are_refused(tmp_path):
    path = write(tmp_path, HEAD + '[zip]\nmodel = ["sim:quantum", "sim:classical"]\nseed = [1]\n')
    with pytest.raises(ConfigError, match=r"m.toml:\d+: zip.model: zipped lists differ in length"):
        load_manifest(path)


def test_a_cassette_that_does_not_exist_yet_is_relative_to_the_manifest(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)  # elsewhere than the manifest
    path = write(folder, HEAD.replace('mode = "exact"\n', 'mode = "exact"\ncassette = "rec/shared.jsonl"\n')
                 + '[axes]\nmodel = ["embed:minilm"]\n\n[[cells]]\nmodel = "embed:minilm"\ncassette = "own.jsonl"\n')
    manifest = load_manifest(path)
    assert manifest.settings["cassette"] == str(folder / "rec" / "shared.jsonl")
    assert manifest.extra[0]["cassette"] == str(folder / "own.jsonl")
