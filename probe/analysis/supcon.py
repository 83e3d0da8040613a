"""A CORAL-style projection head: supervised contrastive training that separates classes.

CORAL (Rodriguez et al. 2025, arXiv:2506.15933) adds a projection head to the
U-Net bottleneck and trains it with the supervised contrastive (SupCon) loss of
Khosla et al. (2020, arXiv:2004.11362) so tail-class latents stop overlapping
head classes. Here the head works on any embeddings. :func:`supcon_study`
measures what it does honestly: overlap on held-out rows, before and after, over
several random splits, with the paired tests of :mod:`probe.analysis.paired`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.overlap import OverlapResult, check_embeddings, class_overlap
from probe.analysis.paired import wilcoxon_signed_rank
from probe.errors import DataError


def supcon_loss(z: Any, labels: Any, *, temperature: float = 0.1) -> Any:
    """Supervised contrastive loss L_out of Khosla et al. (2020) on L2-normalised embeddings.

    For anchor i with positives P(i) (same label, not i):
    L_i = -(1/|P(i)|) Σ_{p in P(i)} log[exp(z_i·z_p/τ) / Σ_{a != i} exp(z_i·z_a/τ)];
    the loss is the mean over anchors that have at least one positive.

    Parameters
    ----------
    z : torch.Tensor, shape (n, d)
        Unit-norm projections.
    labels : torch.Tensor of int, shape (n,)

    References
    ----------
    Khosla, P. et al. (2020). Supervised Contrastive Learning. NeurIPS, arXiv:2004.11362.
    """
    import torch

    logits = z @ z.T / temperature
    self_mask = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positive.sum(dim=1)
    has = n_pos > 0
    per_anchor = -(log_prob.masked_fill(~positive, 0.0).sum(dim=1)[has]) / n_pos[has]
    return per_anchor.mean()


@dataclass(frozen=True, slots=True)
class SupConHead:
    """A trained projection head: ``transform(features) -> unit-norm projections``."""

    weights: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
    losses: tuple[float, ...]
    temperature: float
    seed: int

    def transform(self, features: ArrayLike) -> FloatArray:
        w1, b1, w2, b2 = self.weights
        h = np.maximum(np.asarray(features, dtype=np.float64) @ w1.T + b1, 0.0)
        z = h @ w2.T + b2
        return z / np.linalg.norm(z, axis=1, keepdims=True).clip(1e-12)


def fit_supcon_head(
    features: ArrayLike, labels: ArrayLike, *, dim: int = 32, hidden: int = 256, temperature: float = 0.1,
    epochs: int = 300, lr: float = 1e-3, batch_size: int = 512, seed: Seed = 0,
) -> SupConHead:
    """Train a 2-layer MLP projection head with the supervised contrastive loss.

    Parameters
    ----------
    features : array-like, shape (n, D)
    labels : array-like, shape (n,)
    dim, hidden : int
        Output and hidden widths of the head (Linear-ReLU-Linear, then L2 normalisation).
    temperature : float
        τ of the loss (0.1 as in the CORAL code).
    epochs, lr, batch_size : training schedule (Adam; full batch when n <= batch_size).
    seed : int
        Seeds the initialisation and the batch order.

    Notes
    -----
    CORAL weights its SupCon term by a function of the diffusion timestep; plain
    embeddings have no timestep, so the weight here is 1.
    """
    import torch

    x, y, _ = check_embeddings(features, labels)
    seed_int = int(np.random.default_rng(seed).integers(2**31))
    gen = torch.Generator().manual_seed(seed_int)
    torch_x = torch.as_tensor(x, dtype=torch.float32)
    torch_y = torch.as_tensor(y)
    layer1, layer2 = torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, dim)
    with torch.no_grad():  # explicit seeded init: the global torch RNG is never touched
        for layer in (layer1, layer2):
            bound = 1 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    model = torch.nn.Sequential(layer1, torch.nn.ReLU(), layer2)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen) if n > batch_size else torch.arange(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            z = torch.nn.functional.normalize(model(torch_x[idx]), dim=1)
            loss = supcon_loss(z, torch_y[idx], temperature=temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / n)
    weights = tuple(p.detach().double().numpy().copy() for p in (layer1.weight, layer1.bias, layer2.weight, layer2.bias))
    return SupConHead(weights, tuple(losses), temperature, seed_int)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SupConStudy:
    """Held-out overlap before and after a SupCon head, over ``repeats`` random splits.

    ``before`` / ``after``: per measure, the list of tail->head values (one per
    repeat); ``tests``: one-sided exact Wilcoxon that the head lowers the measure
    (raises it for the silhouette); ``example_after``: the overlap result of the first repeat.
    """

    before: dict[str, list[float]]
    after: dict[str, list[float]]
    tests: dict[str, dict[str, Any]]
    example_after: OverlapResult
    final_losses: tuple[float, ...]
    repeats: int
    test_size: float
    seeds: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        rows = [{"repeat": i, "measure": m, "before": self.before[m][i], "after": self.after[m][i]}
                for m in self.before for i in range(self.repeats)]
        return pd.DataFrame(rows)


def supcon_study(
    features: ArrayLike, labels: ArrayLike, *, repeats: int = 5, test_size: float = 0.3, seed: int = 0,
    head: list[str] | None = None, overlap_kwargs: dict[str, Any] | None = None, **head_kwargs: Any,
) -> SupConStudy:
    """Train a SupCon head on a stratified split and compare held-out overlap before/after, ``repeats`` times.

    Parameters
    ----------
    features, labels : embeddings (n, D) and their classes.
    repeats : int
        Independent splits (seeds ``seed``, ``seed + 1``, ...), each with a fresh head.
    test_size : float
        Held-out fraction (stratified; every class keeps >= 3 held-out rows or the call fails).
    head : list of str, optional
        Head classes (default: decided once on the full data by ``class_overlap``).
    overlap_kwargs, head_kwargs :
        Passed to :func:`probe.analysis.overlap.class_overlap` and :func:`fit_supcon_head`.
    """
    from sklearn.model_selection import train_test_split

    x, y, names = check_embeddings(features, labels)
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size must be between 0 and 1, got {test_size}")
    if repeats < 1:
        raise DataError(f"repeats must be at least 1, got {repeats}")
    small = [names[c] for c, m in enumerate(np.bincount(y)) if round(m * test_size) < 3 or m - round(m * test_size) < 2]
    if small:
        raise DataError(f"classes {', '.join(small)} are too small to hold out 3 rows at test_size {test_size}",
                        hint="raise --test-size or drop those classes")
    kw = dict(overlap_kwargs or {})
    labels_str = np.asarray(names)[y]
    if head is None:
        head = list(class_overlap(x, labels_str, **kw).head)
    before: dict[str, list[float]] = {}
    after: dict[str, list[float]] = {}
    example, losses, seeds = None, [], []
    for r in range(repeats):
        s = seed + r
        tr, te = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=s)
        fit = fit_supcon_head(x[tr], labels_str[tr], seed=s, **head_kwargs)
        o_before = class_overlap(x[te], labels_str[te], head=head, **kw)
        o_after = class_overlap(fit.transform(x[te]), labels_str[te], head=head, **kw)
        for key, value in o_before.tail_head.items():
            before.setdefault(key, []).append(value)
            after.setdefault(key, []).append(o_after.tail_head[key])
        example = example or o_after
        losses.append(fit.losses[-1])
        seeds.append(s)
    tests = {}
    for key in before:
        b, a = np.asarray(before[key]), np.asarray(after[key])
        if repeats >= 2 and np.all(np.isfinite(b - a)) and np.any(b != a):
            alt = "less" if key.startswith("silhouette") else "greater"
            tests[key] = wilcoxon_signed_rank(b, a, alternative=alt).to_dict()
    assert example is not None
    return SupConStudy(before, after, tests, example, tuple(losses), repeats, test_size, tuple(seeds))
