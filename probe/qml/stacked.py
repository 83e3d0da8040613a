"""Many QNN classifiers of one configuration trained at once, as one stacked model.

Cross-validation fits the same QNN on every (fold, seed) split: 25 fits of
thousands of Adam steps on minibatches of 32, each step paying a fixed cost
(building gate matrices, autograd, the optimiser) that dwarfs the simulation of
32 small states. :func:`fit_qnns` trains the M models together instead: their
ansatz weights are stacked into one (M, P) tensor, their readouts into (M, C, q)
and (M, C); each training step takes every model's next minibatch, concatenates
them (B = Σ_m b_m samples), gives each sample its model's weight row (the
simulator takes per-sample angles, shape (B, P)) and runs ONE forward and
backward for all of them, on the loss

    L = Σ_m (1/b_m) Σ_{i ∈ batch_m} CE(logits_i, y_i),

a sum of each model's own mean cross-entropy, so ∂L/∂θ_m is model m's own
gradient. Adam is element-wise, so one Adam over the stacked tensors moves each
model exactly as its own Adam would (:class:`StackedAdam` reproduces
``torch.optim.Adam``'s arithmetic; all models active at a step have taken the
same number of steps). Each model keeps its own seeded generator for its batch
order, and a model whose schedule (epochs x minibatches) is over is masked out
of later steps. The result equals training the models one at a time with
:meth:`QNNClassifier.fit` up to floating-point rounding (the sums over samples
are taken in another order): predictions, probabilities and losses agree to
~1e-10 in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from probe.errors import DataError
from probe.qml.classifiers import QNNClassifier
from probe.qsim.blocked import one_torch_thread

__all__ = ["MAX_AMPLITUDES", "StackedAdam", "fit_qnns", "stack_key"]

MAX_AMPLITUDES = 2**22
"""Largest (samples per step) x 2^n_qubits of one stacked model (64 MiB per complex128 state batch);
more models are trained in several stacks. At 8 qubits that is 512 models of minibatch 32."""


def stack_key(est: QNNClassifier, n_features: int, n_classes: int) -> tuple[Any, ...]:
    """Models with equal keys share one circuit and readout shape and can be stacked."""
    return (est.encoding, est.ansatz, est.layers, est.reps, n_features, n_classes)


class StackedAdam:
    """Adam over stacked per-model parameter tensors (model on axis 0), with per-model learning rates.

    The update of each row is ``torch.optim.Adam``'s single-tensor update (PyTorch 2.x,
    defaults: β = (0.9, 0.999), ε = 1e-8, no weight decay), op for op:
    m ← lerp(m, g, 1 − β1); v ← β2 v + (1 − β2) g²; θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε).
    :meth:`step` updates only the rows of the models in ``active``; the step count t is
    shared because a model, once inactive, never returns.
    """

    def __init__(self, params: Sequence[torch.Tensor], lrs: Sequence[float], *, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = list(params)
        self.lrs = [float(lr) for lr in lrs]
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: Sequence[int]) -> None:
        self.t += 1
        step = float(self.t)
        beta1, beta2 = self.beta1, self.beta2
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_correction2_sqrt = bias_correction2**0.5
        by_lr: dict[float, list[int]] = {}
        for m in active:
            by_lr.setdefault(self.lrs[m], []).append(m)
        n_models = self.params[0].shape[0]
        for lr, rows in by_lr.items():
            step_size = lr / bias_correction1
            whole = len(rows) == n_models
            idx = None if whole else torch.tensor(rows, dtype=torch.int64)
            for p, g, m_, v_ in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
                if idx is None:
                    theta, grad, m, v = p, g, m_, v_
                else:
                    theta, grad, m, v = p[idx], g[idx], m_[idx], v_[idx]
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
                theta.addcdiv_(m, denom, value=-step_size)
                if idx is not None:
                    p[idx], m_[idx], v_[idx] = theta, m, v


def _minibatches(n: int, batch_size: int, epochs: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """The index minibatches of :func:`probe.qml.training.fit_classifier`, drawn from ``gen`` in its order."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def fit_qnns(estimators: Sequence[QNNClassifier], data: Sequence[tuple[Any, Any]], *,
             max_amplitudes: int = MAX_AMPLITUDES,
             on_step: Callable[[int, int], None] | None = None) -> list[QNNClassifier]:
    """Fit ``estimators[m]`` on ``data[m] = (x_m, y_m)`` for every m, all at once; returns the estimators.

    Each estimator ends as after ``estimators[m].fit(x_m, y_m)`` (``module_``, ``classes_``,
    ``losses_``), up to rounding. Models that share encoding, ansatz, layers, reps, the number of
    features and of classes (:func:`stack_key`) are stacked, at most ``max_amplitudes``
    (samples per step x 2^n) per stack; seeds, epochs, lr and batch size may differ within a
    stack. One estimator alone is fitted by its own :meth:`~QNNClassifier.fit`. ``on_step(done, total)``
    is called after every stacked Adam step (of all stacks together).
    """
    if len(estimators) != len(data):
        raise DataError(f"fit_qnns: {len(estimators)} estimators but {len(data)} datasets")
    if len(estimators) == 1:
        return [estimators[0].fit(*data[0])]
    starts = [est.start_fit(x, y) for est, (x, y) in zip(estimators, data, strict=True)]
    kinds: dict[tuple[Any, ...], list[int]] = {}
    for m, (est, (xt, _, _)) in enumerate(zip(estimators, starts, strict=True)):
        kinds.setdefault(stack_key(est, xt.shape[1], len(est.classes_)), []).append(m)
    stacks: list[list[int]] = []
    for members in kinds.values():
        size = 2 ** estimators[members[0]].module_.n_qubits
        stacks.append([])
        for m in members:
            used = sum(estimators[j].batch_size for j in stacks[-1])
            if stacks[-1] and (used + estimators[m].batch_size) * size > max_amplitudes:
                stacks.append([])
            stacks[-1].append(m)
    schedules = [est.epochs * math.ceil(xt.shape[0] / est.batch_size)
                 for est, (xt, _, _) in zip(estimators, starts, strict=True)]
    total = sum(max(schedules[m] for m in s) for s in stacks)
    done = 0
    for rows in stacks:
        def tick(k: int, base: int = done) -> None:
            if on_step is not None:
                on_step(base + k, total)

        _train([estimators[m] for m in rows], [starts[m] for m in rows], tick)
        done += max(schedules[m] for m in rows)
    return list(estimators)


def _train(ests: Sequence[QNNClassifier], starts: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Generator]],
           tick: Callable[[int], None]) -> None:
    with one_torch_thread():
        _train_stack(ests, starts, tick)


def _train_stack(ests: Sequence[QNNClassifier], starts: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Generator]],
                 tick: Callable[[int], None]) -> None:
    mods = [e.module_ for e in ests]
    template = mods[0]
    with torch.no_grad():
        weights = torch.stack([m.weights for m in mods]).requires_grad_()
        readout_w = torch.stack([m.readout.weight for m in mods]).requires_grad_()  # (M, C, q)
        readout_b = torch.stack([m.readout.bias for m in mods]).requires_grad_()  # (M, C)
    params = [weights, readout_w, readout_b]
    opt = StackedAdam(params, [e.lr for e in ests])
    xs = [s[0] for s in starts]
    ys = [s[1] for s in starts]
    batches = [_minibatches(x.shape[0], e.batch_size, e.epochs, s[2]) for e, x, s in zip(ests, xs, starts, strict=True)]
    per_epoch = [math.ceil(x.shape[0] / e.batch_size) for e, x in zip(ests, xs, strict=True)]
    schedule = [e.epochs * k for e, k in zip(ests, per_epoch, strict=True)]
    totals = [0.0] * len(ests)
    losses: list[list[float]] = [[] for _ in ests]
    for t in range(max(schedule)):
        active = [m for m in range(len(ests)) if t < schedule[m]]
        picks = [next(batches[m]) for m in active]
        x = torch.cat([xs[m][idx] for m, idx in zip(active, picks, strict=True)])
        y = torch.cat([ys[m][idx] for m, idx in zip(active, picks, strict=True)])
        owner = torch.cat([torch.full((idx.numel(),), m, dtype=torch.int64) for m, idx in zip(active, picks, strict=True)])
        count = torch.cat([torch.full((idx.numel(),), float(idx.numel()), dtype=torch.float64) for idx in picks])
        ev = template.expvals(x, weights[owner])  # (B, q)
        logits = (readout_w[owner] @ ev[:, :, None]).squeeze(-1) + readout_b[owner]
        per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
        loss = (per_sample / count).sum()
        grads = torch.autograd.grad(loss, params)
        opt.step(grads, active)
        sums = torch.zeros(len(ests), dtype=torch.float64).index_add_(0, owner, per_sample.detach())
        for m in active:
            totals[m] += float(sums[m])
            if (t + 1) % per_epoch[m] == 0:
                losses[m].append(totals[m] / xs[m].shape[0])
                totals[m] = 0.0
        tick(t + 1)
    with torch.no_grad():
        for m, (est, mod) in enumerate(zip(ests, mods, strict=True)):
            mod.weights.copy_(weights[m])
            mod.readout.weight.copy_(readout_w[m])
            mod.readout.bias.copy_(readout_b[m])
            est.losses_ = losses[m]
