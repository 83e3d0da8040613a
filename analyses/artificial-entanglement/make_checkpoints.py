"""Build the small checkpoints of this analysis's study (``study.toml``): LoRA ranks x full fine-tuning x steps.

    python analyses/artificial-entanglement/make_checkpoints.py          # rewrite checkpoints/ (about 20 s)
    python analyses/artificial-entanglement/make_checkpoints.py --check  # exit 1 if a shipped file differs

The study needs checkpoints that ship with the repository (MiniLM fine-tunes of ``run.py`` are 90 MB
each), so this script trains a tiny attention classifier from scratch, on CPU, with fixed seeds:

* **model**: token embedding (16 tokens, width 48 = 2^4 * 3, so a 48 x 48 weight is a state on sites of
  local dimensions 2, 2, 2, 2, 3 | 2, 2, 2, 2, 3), 3 residual single-head self-attention layers (query,
  key, value 48 x 48, no bias) each followed by a parameter-free layer norm, mean pooling, a linear head;
* **base** (``base.safetensors``): pre-trained 400 Adam steps (lr 3e-3, batch 64) on "is token 0 more
  frequent than token 1 in the sequence of 12";
* **fine-tuning** on another task, "is token 2 more frequent than token 3", 200 Adam steps
  (batch 64), checkpoints at steps 50 and 200:
  * full fine-tuning (FFT) of every weight, lr 1e-3 (``fft-step050``, ``fft-step200``);
  * LoRA on query and value, ranks r = 1, 4, 16, alpha = 2r, A ~ N(0, 1/48), B = 0, lr 1e-2, only A and B
    trained (``lora-r01-step050`` ... ``lora-r16-step200``); the checkpoint holds the merged W + (alpha/r) B A.

Each file holds the six query/value weights (float32) under the same names as ``base.safetensors``, so
``probe entangle delta --base base.safetensors --tuned X`` reads the update W_tuned - W_base. Test accuracy
of every checkpoint on both tasks goes to ``checkpoints/training.json``. This is a toy: it shows the
measurement on real (tiny) fine-tuning runs; it says nothing about LLaMA-scale LoRA (see README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VOCAB, LENGTH, WIDTH, LAYERS = 16, 12, 48, 3
RANKS = (1, 4, 16)
SAVE_AT = (50, 200)


def _task(name: str, n: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, VOCAB, (n, LENGTH), generator=g)
    if name == "majority":
        y = ((x == 0).sum(1) > (x == 1).sum(1)).long()
    else:  # "shifted": the same question about tokens 2 and 3
        y = ((x == 2).sum(1) > (x == 3).sum(1)).long()
    return x, y


def _model():
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query = nn.Linear(WIDTH, WIDTH, bias=False)
            self.key = nn.Linear(WIDTH, WIDTH, bias=False)
            self.value = nn.Linear(WIDTH, WIDTH, bias=False)

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            a = torch.softmax(self.query(h) @ self.key(h).transpose(1, 2) / WIDTH ** 0.5, dim=-1)
            return nn.functional.layer_norm(h + a @ self.value(h), (WIDTH,))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, WIDTH)
            self.layers = nn.ModuleList([Attention() for _ in range(LAYERS)])
            self.head = nn.Linear(WIDTH, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.embed(x)
            for layer in self.layers:
                h = layer(h)
            return self.head(h.mean(1))

    return Net()


class _Lora:
    """LoRA on one nn.Linear: W x + (alpha / r) B A x, with W frozen."""

    def __init__(self, linear, rank: int, generator) -> None:
        import torch

        self.linear, self.scale = linear, 2.0  # alpha = 2r
        self.A = torch.nn.Parameter(torch.randn(rank, WIDTH, generator=generator) / WIDTH ** 0.5)
        self.B = torch.nn.Parameter(torch.zeros(WIDTH, rank))
        linear.weight.requires_grad_(False)
        original = linear.forward
        linear.forward = lambda h: original(h) + self.scale * (h @ self.A.T @ self.B.T)

    def merged(self):
        return (self.linear.weight + self.scale * self.B @ self.A).detach()


def _train(model, params, task: str, steps: int, lr: float, seed: int, on_step=None) -> None:
    import torch

    x, y = _task(task, 20_000, seed)
    opt = torch.optim.Adam(params, lr=lr)
    g = torch.Generator().manual_seed(seed + 1)
    for step in range(1, steps + 1):
        idx = torch.randint(0, x.shape[0], (64,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step(step)


def _accuracy(model, task: str) -> float:
    import torch

    x, y = _task(task, 2000, 999)
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _weights(model, loras: dict | None = None) -> dict:
    out = {}
    for i, layer in enumerate(model.layers):
        for name in ("query", "value"):
            key = f"layers.{i}.attn.{name}.weight"
            w = loras[key].merged() if loras else getattr(layer, name).weight.detach()
            out[key] = w.clone().contiguous().numpy()
    return out


def build() -> tuple[dict[str, dict], dict[str, dict]]:
    """File name -> tensors, and file name -> test accuracies."""
    import copy

    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    base = _model()
    _train(base, base.parameters(), "majority", 400, 3e-3, seed=1)
    files = {"base.safetensors": _weights(base)}
    log = {"base.safetensors": {"majority": _accuracy(base, "majority"), "shifted": _accuracy(base, "shifted")}}

    def save(name: str, model, loras=None):
        files[name] = _weights(model, loras)
        log[name] = {"majority": _accuracy(model, "majority"), "shifted": _accuracy(model, "shifted")}

    fft = copy.deepcopy(base)
    _train(fft, fft.parameters(), "shifted", max(SAVE_AT), 1e-3, seed=2,
           on_step=lambda s: save(f"fft-step{s:03d}.safetensors", fft) if s in SAVE_AT else None)
    for rank in RANKS:
        model = copy.deepcopy(base)
        for p in model.parameters():
            p.requires_grad_(False)
        g = torch.Generator().manual_seed(100 + rank)
        loras = {f"layers.{i}.attn.{name}.weight": _Lora(getattr(layer, name), rank, g)
                 for i, layer in enumerate(model.layers) for name in ("query", "value")}
        params = [p for lo in loras.values() for p in (lo.A, lo.B)]
        _train(model, params, "shifted", max(SAVE_AT), 1e-2, seed=2,
               on_step=lambda s, m=model, lo=loras, r=rank: save(f"lora-r{r:02d}-step{s:03d}.safetensors", m, lo)
               if s in SAVE_AT else None)
    return files, log


def main() -> int:
    from safetensors.numpy import load_file, save_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "checkpoints")
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    a = ap.parse_args()
    files, log = build()
    if a.check:
        import numpy as np

        bad = 0
        for name, tensors in files.items():
            path = a.out / name
            same = path.is_file() and all(np.array_equal(load_file(str(path)).get(k), v) for k, v in tensors.items())
            bad += not same
            print(f"{path}: {'identical' if same else 'DIFFERENT'}")
        return 1 if bad else 0
    a.out.mkdir(parents=True, exist_ok=True)
    for name, tensors in files.items():
        save_file(tensors, str(a.out / name))
        print(f"{a.out / name}: test accuracy {log[name]}")
    (a.out / "training.json").write_text(json.dumps(log, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
