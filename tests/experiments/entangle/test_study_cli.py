"""`probe entangle` end to end on tiny local models: outputs, errors, workers, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from probe.cli import main
from tests.helpers import messages, read_result

LAYER_KEYS = {"name", "shape", "n_qubits", "cuts", "entropy", "page", "valley", "site_dims", "renyi2",
              "schmidt_rank", "truncation_error_bound"}


def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr()


def _result(out):
    return read_result(out)


def test_weights_run_writes_result_report_table_figures(tiny_bert, tmp_path, capsys):
    out = tmp_path / "w"
    code, _ = _run(["entangle", "weights", str(tiny_bert), "--layers", "encoder.layer.*.attention.*.weight",
                    "--out", str(out)], capsys)
    assert code == 0
    for name in ("result.json", "report.md", "table.tex", "profile.png", "heatmap.png", "mp.png"):
        assert (out / name).stat().st_size > 0
    res = _result(out)
    assert res["experiment"] == "entangle-weights" and res["source"] == "weights"
    assert len(res["layers"]) == 8  # 2 layers × (query, key, value, output.dense)
    layer = res["layers"][0]
    assert set(layer) >= LAYER_KEYS
    assert layer["shape"] == [16, 16] and layer["n_qubits"] == 8 and layer["cuts"] == list(range(1, 8))
    assert len(layer["entropy"]) == len(layer["page"]) == 7
    assert "Methods" in (out / "report.md").read_text()


def test_lora_run_uses_low_rank_path_and_shows_valley(tiny_lora, tmp_path, capsys):
    out = tmp_path / "l"
    code, _ = _run(["entangle", "lora", str(tiny_lora), "--out", str(out), "--baseline-samples", "0"], capsys)
    assert code == 0
    res = _result(out)
    assert {layer["method"] for layer in res["layers"]} == {"lowrank"}
    for layer in res["layers"]:
        assert layer["rank"] == 2 and layer["scale"] == pytest.approx(3.0)
        assert layer["entropy"][layer["boundary_cut"] - 1] <= np.log(2) + 1e-12
    dense = tmp_path / "ld"
    assert _run(["entangle", "lora", str(tiny_lora), "--dense", "--out", str(dense), "--baseline-samples", "0"],
                capsys)[0] == 0
    for a, b in zip(res["layers"], _result(dense)["layers"], strict=True):
        assert np.max(np.abs(np.subtract(a["entropy"], b["entropy"]))) < 1e-8


def test_delta_matches_lora_profile_of_merged_model(tiny_bert, tiny_lora, tmp_path, capsys):
    merged = tiny_lora.parent / (tiny_lora.name + "-merged")
    out = tmp_path / "d"
    code, _ = _run(["entangle", "delta", "--base", str(tiny_bert), "--tuned", str(merged), "--out", str(out),
                    "--layers", "*.query.weight", "--baseline-samples", "0"], capsys)
    assert code == 0
    res = _result(out)
    lora = {layer["name"]: layer for layer in _result_lora(tiny_lora, tmp_path, capsys)["layers"]}
    for layer in res["layers"]:
        # merged in float32: the delta carries ~1e-7 noise on top of the rank-2 update
        assert np.max(np.abs(np.subtract(layer["entropy"], lora[layer["name"]]["entropy"]))) < 1e-3


def _result_lora(tiny_lora, tmp_path, capsys):
    out = tmp_path / "lr"
    _run(["entangle", "lora", str(tiny_lora), "--out", str(out), "--baseline-samples", "0"], capsys)
    return _result(out)


def test_attention_run(tiny_bert, text_file, tmp_path, capsys):
    out = tmp_path / "a"
    code, _ = _run(["entangle", "attention", "--model", f"hf:{tiny_bert}", "--text", str(text_file),
                    "--tokens", "16", "--max-windows", "4", "--out", str(out)], capsys)
    assert code == 0
    res = _result(out)
    att = res["attention"]
    assert att["n_windows"] == 4 and att["tokens"] == 16 and att["n_layers"] == 2 and att["n_heads"] == 2
    assert len(res["layers"]) == 4 and np.array(att["profiles"]).shape == (4, 2, 2, 7)
    assert att["laws"]["best"] in ("area", "log", "volume")
    assert (out / "laws.png").exists()


@pytest.mark.slow
def test_random_run_is_reproducible_and_workers_agree(tmp_path, capsys):
    outs = []
    for i, extra in enumerate([[], [], ["--workers", "2"]]):
        out = tmp_path / f"r{i}"
        code, _ = _run(["entangle", "random", "--shape", "16x32", "--samples", "4", "--rank", "2", "--seed", "7",
                        "--out", str(out), *extra], capsys)
        assert code == 0
        outs.append(_result(out)["layers"])
    assert outs[0] == outs[1]
    for a, b in zip(outs[0], outs[2], strict=True):
        assert a["entropy"] == b["entropy"]
    full, low = outs[0]
    assert full["name"] == "gaussian" and low["name"] == "gaussian-rank2"
    assert low["entropy"][low["boundary_cut"] - 1] <= np.log(2) + 1e-12


@pytest.mark.slow
def test_weights_workers_match_serial(tiny_bert, tmp_path, capsys):
    res = []
    for w in ("1", "2"):
        out = tmp_path / f"w{w}"
        assert _run(["entangle", "weights", str(tiny_bert), "--workers", w, "--out", str(out)], capsys)[0] == 0
        res.append(_result(out)["layers"])
    assert [layer["entropy"] for layer in res[0]] == [layer["entropy"] for layer in res[1]]


@pytest.mark.parametrize(("argv", "message"), [
    (["random", "--shape", "1x3"], "--shape"),
    (["random", "--shape", "1x7"], "no cut"),
    (["random", "--shape", "8x8", "--samples", "1"], "--samples"),
    (["weights", "NOPE.safetensors"], "no such file"),
    (["attention", "--model", "gpt-4o", "--text", "x.txt"], "expected hf:PATH"),
])
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    code, cap = _run(["entangle", *argv, "--out", str(out)], capsys)
    assert code == 2
    lines = messages(cap.err).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("probe: error:") and message in lines[0]
    assert not out.exists()


def test_adapter_without_config_and_mismatched_checkpoints(tiny_bert, tiny_lora, tmp_path, capsys):
    import shutil

    from safetensors.torch import save_file
    torch = pytest.importorskip("torch")

    bad = tmp_path / "adapter"
    shutil.copytree(tiny_lora, bad)
    (bad / "adapter_config.json").unlink()
    code, cap = _run(["entangle", "lora", str(bad), "--out", str(tmp_path / "o1")], capsys)
    assert code == 2 and "adapter_config.json" in cap.err and len(messages(cap.err).strip().splitlines()) == 1
    other = tmp_path / "other.safetensors"
    save_file({"something.else": torch.ones(4, 4)}, str(other))
    code, cap = _run(["entangle", "delta", "--base", str(tiny_bert), "--tuned", str(other),
                      "--out", str(tmp_path / "o2")], capsys)
    assert code == 2 and "different tensors" in cap.err and len(messages(cap.err).strip().splitlines()) == 1
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_report_rerenders_from_result(tiny_bert, tmp_path, capsys):
    out = tmp_path / "rr"
    _run(["entangle", "weights", str(tiny_bert), "--layers", "*.query.weight", "--out", str(out)], capsys)
    (out / "report.md").unlink()
    from probe.report import render_run

    paths = render_run(out)
    assert (out / "report.md").exists() and any(p.name == "report.md" for p in paths)


def test_interleaved_order_through_the_cli_matches_the_library(tiny_bert, tmp_path, capsys):
    from probe.analysis.entangle.profile import entanglement_profile
    from probe.experiments.entangle import list_tensors, read_tensor

    out = tmp_path / "inter"
    code, _ = _run(["entangle", "weights", str(tiny_bert), "--order", "interleaved", "--layers", "*.0.attention.self.query.weight",
                    "--baseline-samples", "0", "--out", str(out)], capsys)
    assert code == 0
    (layer,) = _result(out)["layers"]
    ref = next(r for r in list_tensors(tiny_bert) if r.name == layer["name"])
    expected = entanglement_profile(read_tensor(ref), order="interleaved").entropy
    assert np.allclose(layer["entropy"], expected, atol=1e-12)
    assert layer["boundary_cut"] is None and layer["mp"]["n_outliers"] >= 0


def test_result_as_dataframe(tiny_bert, tmp_path, capsys):
    from probe.experiments.entangle.plan import layers_frame

    out = tmp_path / "df"
    _run(["entangle", "weights", str(tiny_bert), "--layers", "*.query.weight", "--out", str(out)], capsys)
    res = _result(out)
    frame = layers_frame(res)
    assert len(frame) == sum(len(layer["cuts"]) for layer in res["layers"])
    assert set(frame["name"]) == {layer["name"] for layer in res["layers"]}
    assert frame["baseline"].notna().all()  # --baseline-samples defaults to 4
