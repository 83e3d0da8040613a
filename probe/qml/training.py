"""Small torch helpers shared by probe's trainable quantum models: seeded init, a training loop, checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from probe.errors import DataError


def seeded_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def seeded_linear(n_in: int, n_out: int, gen: torch.Generator) -> torch.nn.Linear:
    """A float64 Linear layer with PyTorch's default uniform init drawn from ``gen``."""
    layer = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    bound = 1 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=gen)
        layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


def fit_classifier(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
                   batch_size: int, gen: torch.Generator) -> list[float]:
    """Adam on cross-entropy, shuffled minibatches; returns the mean loss per epoch."""
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    losses = []
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(module(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / n)
    return losses


def check_xy(x: Any, y: Any | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        raise DataError(f"features must be a finite 2-D array, got shape {a.shape}")
    return a, (None if y is None else np.asarray(y))


def parameter_count(module: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


class TorchClassifierMixin:
    """``predict_proba``, ``predict`` and ``n_params_`` for estimators whose fitted ``module_`` returns logits."""

    module_: torch.nn.Module
    classes_: np.ndarray

    def predict_proba(self, x: Any) -> np.ndarray:
        a, _ = check_xy(x)
        with torch.no_grad():
            return torch.softmax(self.module_(torch.as_tensor(a)), dim=1).numpy()

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]

    @property
    def n_params_(self) -> int:
        return parameter_count(self.module_)
