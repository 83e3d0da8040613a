"""Checkpoints tensor by tensor, peft adapters, and attention matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from probe.errors import ConfigError, DataError
from probe.experiments.entangle import list_tensors, lora_modules, read_tensor, resolve_model, select_tensors


def _save(path: Path, tensors: dict) -> Path:
    from safetensors.torch import save_file

    save_file(tensors, str(path))
    return path


def test_safetensors_read_one_tensor_at_a_time_with_bf16_upcast(tmp_path):
    torch = pytest.importorskip("torch")
    w = torch.randn(8, 4)
    path = _save(tmp_path / "m.safetensors", {"a.weight": w.to(torch.bfloat16), "a.bias": torch.zeros(8)})
    refs = list_tensors(path)
    assert [(r.name, r.shape, r.dtype) for r in refs] == [("a.bias", (8,), "F32"), ("a.weight", (8, 4), "BF16")]
    arr = read_tensor(refs[1])
    assert arr.dtype == np.float64
    assert np.array_equal(arr, w.to(torch.bfloat16).to(torch.float64).numpy())
    keep, skipped = select_tensors(refs, None, where="m")
    assert [r.name for r in keep] == ["a.weight"] and skipped[0]["name"] == "a.bias"
    with pytest.raises(ConfigError, match="no tensor matches"):
        select_tensors(refs, ["encoder.*"], where="m")
    keep, _ = select_tensors(refs, ["re:^a\\.w"], where="m")
    assert len(keep) == 1


def test_sharded_checkpoint_and_torch_bin(tmp_path):
    torch = pytest.importorskip("torch")
    _save(tmp_path / "model-00001-of-00002.safetensors", {"x.weight": torch.ones(4, 4)})
    _save(tmp_path / "model-00002-of-00002.safetensors", {"y.weight": torch.eye(4)})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "x.weight": "model-00001-of-00002.safetensors", "y.weight": "model-00002-of-00002.safetensors"}}))
    assert {r.name for r in list_tensors(tmp_path)} == {"x.weight", "y.weight"}
    binfile = tmp_path / "bin" / "pytorch_model.bin"
    binfile.parent.mkdir()
    torch.save({"z.weight": torch.eye(8) * 2}, binfile)
    (ref,) = list_tensors(binfile.parent)
    assert np.array_equal(read_tensor(ref), 2 * np.eye(8))


def test_tiny_peft_lora_matches_hand_computed_delta(tiny_bert, tiny_lora):
    from safetensors import safe_open

    modules, cfg = lora_modules(tiny_lora)
    assert cfg["r"] == 2 and cfg["lora_alpha"] == 6
    assert len(modules) == 4 and {m.rank for m in modules} == {2}
    assert all(m.scale == pytest.approx(3.0) for m in modules)
    merged = tiny_lora.parent / (tiny_lora.name + "-merged")
    with safe_open(str(tiny_bert / "model.safetensors"), "pt") as fb, safe_open(str(merged / "model.safetensors"), "pt") as fm:
        for m in modules:
            delta = fm.get_tensor(m.name).double().numpy() - fb.get_tensor(m.name).double().numpy()
            by_hand = m.scale * read_tensor(m.b) @ read_tensor(m.a)
            assert np.allclose(delta, by_hand, atol=1e-6)  # peft merges in float32


def test_adapter_config_errors(tiny_lora, tmp_path):
    import shutil

    bad = tmp_path / "no-config"
    shutil.copytree(tiny_lora, bad)
    (bad / "adapter_config.json").unlink()
    with pytest.raises(DataError, match=r"no adapter_config\.json"):
        lora_modules(bad)
    cfg = json.loads((tiny_lora / "adapter_config.json").read_text())
    dora = tmp_path / "dora"
    shutil.copytree(tiny_lora, dora)
    (dora / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    with pytest.raises(DataError, match="use_dora"):
        lora_modules(dora)
    rs = tmp_path / "rslora"
    shutil.copytree(tiny_lora, rs)
    (rs / "adapter_config.json").write_text(json.dumps({**cfg, "use_rslora": True}))
    assert lora_modules(rs)[0][0].scale == pytest.approx(6 / np.sqrt(2))
    wrong = tmp_path / "wrong-r"
    shutil.copytree(tiny_lora, wrong)
    (wrong / "adapter_config.json").write_text(json.dumps({**cfg, "r": 4}))
    with pytest.raises(DataError, match="rank 2"):
        lora_modules(wrong)


def test_resolve_model_specs(tiny_bert):
    assert resolve_model(f"hf:{tiny_bert}") == tiny_bert
    assert (resolve_model("embed:minilm") / "config.json").exists()
    with pytest.raises(ConfigError, match="expected hf:PATH"):
        resolve_model("gpt-4o")
    with pytest.raises(ConfigError, match=r"no such folder"):
        resolve_model(f"hf:{tiny_bert}/missing")


def test_minilm_attention_entropies_are_finite_and_reproducible():
    from probe.experiments.entangle.attention import attention_profiles
    from probe.experiments.entangle.transformer_attention import attention_maps, load_model, token_windows

    folder = resolve_model("embed:minilm")
    tok, _ = load_model(folder)
    text = "Entanglement entropy of attention maps measures token to token correlations. " * 6
    windows = token_windows(tok, text, tokens=16, max_windows=3, where="test")
    assert all(len(w) == 16 and w[0] == tok.cls_token_id and w[-1] == tok.sep_token_id for w in windows)
    first = attention_maps(folder, windows)
    second = attention_maps(folder, windows)
    assert first.weights.shape == (3, 6, 12, 16, 16)
    assert np.allclose(first.weights.sum(-1), 1.0, atol=1e-5)
    prof_a = attention_profiles(first.weights, order="sequential", factors="ascending")
    prof_b = attention_profiles(second.weights, order="sequential", factors="ascending")
    assert np.all(np.isfinite(prof_a)) and np.all(prof_a >= 0)
    assert np.array_equal(prof_a, prof_b)
    assert prof_a.shape == (3, 6, 12, 7)
