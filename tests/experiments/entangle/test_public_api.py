"""``probe.entangle.<source>(...)``: every entangle source as one call, and ``probe.load_run`` back."""

from __future__ import annotations

import pytest

import probe
from probe.experiments.entangle.study import EntangleResult


@pytest.fixture(scope="module")
def tuned_bert(tiny_bert, tmp_path_factory):
    """The tiny BERT with every attention weight nudged: a 'fine-tuned' checkpoint for delta."""
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(str(tiny_bert))
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "attention" in name and name.endswith("weight"):
                p.add_(0.1 * torch.randn_like(p))
    folder = tmp_path_factory.mktemp("tuned-bert")
    model.save_pretrained(str(folder))
    return folder


def test_every_entangle_source_is_one_call(tiny_bert, tiny_lora, tuned_bert, text_file, tmp_path):
    e = probe.entangle
    quick = {"progress": False, "baseline_samples": 0, "mp": False}
    runs = {
        "weights": lambda out: e.weights(tiny_bert, layers="encoder.layer.0.attention.self.query.weight", out=out,
                                         **quick),
        "delta": lambda out: e.delta(tiny_bert, tuned_bert, layers=["encoder.layer.0.attention.self.*.weight"],
                                     out=out, **quick),
        "lora": lambda out: e.lora(tiny_lora, out=out, **quick),
        "attention": lambda out: e.attention(f"hf:{tiny_bert}", text_file, tokens=8, max_windows=2, out=out,
                                             progress=False),
        "random": lambda out: e.random("16x16", samples=2, out=out, progress=False),  # (mp=False: KeyError 'mp')
    }
    for source, call in runs.items():
        out = tmp_path / source
        r = call(out)
        assert isinstance(r, EntangleResult) and r.experiment_name == f"entangle-{source}", source
        assert (out / "report.md").exists(), source
        back = probe.load_run(out)
        assert isinstance(back, EntangleResult) and back.settings == r.settings, source
        assert len(back.to_frame()) > 0, source
    assert probe.load_run(tmp_path / "random").settings.shape == (16, 16)
    assert probe.load_run(tmp_path / "delta").settings.layers == ("encoder.layer.0.attention.self.*.weight",)
