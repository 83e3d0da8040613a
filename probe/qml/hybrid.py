"""The hybrid quantum-classical CNN of Yurtseven (2025, arXiv:2512.02066) and its classical twin.

Architecture (4 qubits, as in the paper's abstract; the layer sizes are ours,
the paper's exact widths were not available to us):

    image (1, h, w) --Conv(1->4, 3x3) ReLU MaxPool(2)--> Linear -> 8 features f (ReLU)
    f --Linear(8->16)--> amplitude encoding on 4 qubits --ring VQC--> <Z> (4)
    f --Linear(8->4), π·sigmoid--> RY angle encoding --ring VQC (circular CNOTs)--> <Z> (4)
    [f, <Z>_amp, <Z>_angle] (16) --Linear--> class logits

Tabular data (no images) use a dense trunk Linear(d->8) instead of the convolution.
The classical twin replaces both quantum branches by one Linear(8->h) tanh
Linear(h->8) block with h chosen so the two models have (nearly) the same number
of trainable parameters. Trained with Adam on cross-entropy (= binary
cross-entropy on two logits for two classes, as in the paper).

The paper's data, BreastMNIST (MedMNIST v2), is not shipped with probe and
cannot be downloaded here; ``probe quantum classify --data digits`` with two
classes is the offline stand-in, and reports say so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from probe.errors import DataError
from probe.qml.training import (
    TorchClassifierMixin,
    check_xy,
    fit_classifier,
    seeded_generator,
    seeded_linear,
)
from probe.qsim import amplitude_encoding, angle_encoding, expval_z, ring_vqc, statevector

N_QUBITS = 4
N_FEATURES = 8


class _Trunk(torch.nn.Module):
    def __init__(self, n_inputs: int, image_shape: tuple[int, int] | None, gen: torch.Generator) -> None:
        super().__init__()
        self.image_shape = image_shape
        if image_shape is not None:
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1, dtype=torch.float64)
            bound = 1 / math.sqrt(9)
            with torch.no_grad():
                self.conv.weight.uniform_(-bound, bound, generator=gen)
                self.conv.bias.uniform_(-bound, bound, generator=gen)
            n_inputs = 4 * (image_shape[0] // 2) * (image_shape[1] // 2)
        self.dense = seeded_linear(n_inputs, N_FEATURES, gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.image_shape is not None:
            h = torch.relu(self.conv(x.reshape(-1, 1, *self.image_shape)))
            x = torch.nn.functional.max_pool2d(h, 2).flatten(1)
        return torch.relu(self.dense(x))


class _HybridNet(torch.nn.Module):
    def __init__(self, n_inputs: int, n_classes: int, image_shape: tuple[int, int] | None, layers: int,
                 quantum: bool, classical_width: int, gen: torch.Generator) -> None:
        super().__init__()
        self.quantum = quantum
        self.trunk = _Trunk(n_inputs, image_shape, gen)
        if quantum:
            self.to_amplitudes = seeded_linear(N_FEATURES, 2**N_QUBITS, gen)
            self.to_angles = seeded_linear(N_FEATURES, N_QUBITS, gen)
            self.ring = ring_vqc(N_QUBITS, layers)
            self.angle_circuit = angle_encoding(N_QUBITS) + self.ring
            w = 2 * math.pi * torch.rand(2, self.ring.n_params, generator=gen, dtype=torch.float64)
            self.w_amplitude = torch.nn.Parameter(w[0])
            self.w_angle = torch.nn.Parameter(w[1])
        else:
            self.branch_in = seeded_linear(N_FEATURES, classical_width, gen)
            self.branch_out = seeded_linear(classical_width, 2 * N_QUBITS, gen)
        self.head = seeded_linear(N_FEATURES + 2 * N_QUBITS, n_classes, gen)

    def branches(self, f: torch.Tensor) -> torch.Tensor:
        if not self.quantum:
            return torch.tanh(self.branch_out(torch.tanh(self.branch_in(f))))
        psi_a = statevector(self.ring, self.w_amplitude, state=amplitude_encoding(self.to_amplitudes(f) + 1e-9))
        angles = math.pi * torch.sigmoid(self.to_angles(f))
        psi_b = statevector(self.angle_circuit, angles, self.w_angle)
        return torch.cat([expval_z(psi_a), expval_z(psi_b)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.trunk(x)
        return self.head(torch.cat([f, self.branches(f)], dim=1))


def matched_width(layers: int) -> int:
    """Width h of the classical twin's branch so its parameters match the two quantum branches.

    Quantum branches: Linear(8->16) + Linear(8->4) + 2 ring VQCs of 8·layers angles
    = 180 + 16·layers. Classical branch: Linear(8->h) + Linear(h->8) = 17h + 8.
    """
    return max(1, round((180 + 16 * layers - 8) / 17))


class HybridQCNN(TorchClassifierMixin, ClassifierMixin, BaseEstimator):
    """Hybrid quantum-classical CNN (``quantum=True``) or its parameter-matched classical CNN.

    Parameters
    ----------
    image_shape : tuple (h, w), optional
        Reshape each feature row to an image (e.g. (8, 8) for digits); None for tabular data.
    layers : int
        Layers of each 4-qubit ring VQC.
    quantum : bool
        False gives the classical twin.
    epochs, lr, batch_size, seed : training schedule and seed.
    """

    def __init__(self, image_shape: tuple[int, int] | None = None, layers: int = 2, quantum: bool = True,
                 epochs: int = 30, lr: float = 0.01, batch_size: int = 32, seed: int = 0) -> None:
        self.image_shape = image_shape
        self.layers = layers
        self.quantum = quantum
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed

    def fit(self, x: Any, y: Any) -> HybridQCNN:
        a, labels = check_xy(x, y)
        if self.image_shape is not None and a.shape[1] != self.image_shape[0] * self.image_shape[1]:
            raise DataError(f"rows of {a.shape[1]} features cannot be {self.image_shape[0]}x{self.image_shape[1]} "
                            "images", hint="the CNN needs the raw pixels: do not apply PCA")
        self.classes_, y_idx = np.unique(labels, return_inverse=True)
        gen = seeded_generator(self.seed)
        self.module_ = _HybridNet(a.shape[1], len(self.classes_), self.image_shape, self.layers, self.quantum,
                                  matched_width(self.layers), gen)
        self.losses_ = fit_classifier(self.module_, torch.as_tensor(a), torch.as_tensor(y_idx), epochs=self.epochs,
                                  lr=self.lr, batch_size=self.batch_size, gen=gen)
        return self

