"""Q-networks for DQN and Rainbow: a feature extractor (ring VQC or MLP) under a switchable head.

A network is ``features(s) → head``:

Feature extractors
    :class:`RingVQCFeatures` (VQR-DQN's quantum part, Nguyen, Nguyen & Cao 2025,
    arXiv:2512.05946): an optional trainable linear map from the observation to one
    angle per qubit (used when the observation has more features than qubits), then
    ``layers`` × [RX(λ_{l,i}·arctan x_i) on wire i (data re-uploading with trainable
    input scales λ, Skolik, Jerbi & Dunjko 2022, arXiv:2103.15084); the ring VQC layer
    of :func:`probe.qsim.ring_vqc` (RY and RZ on every wire, CNOT(i, i+1 mod n))];
    the features are ⟨Z_i⟩ of every wire, simulated exactly (probe.qsim statevector).
    :class:`MLPFeatures`: Linear(n_in, h) − ReLU, the classical twin; h is chosen by
    :func:`matched_hidden` so the whole network has the VQC network's parameter count.

Head (:class:`QHead`), each part switchable
    dueling (Wang et al. 2016, arXiv:1511.06581): Q = V + A − mean_a A, per atom when
    distributional (as in Rainbow); distributional (C51, Bellemare et al. 2017,
    arXiv:1707.06887): K logits per action, softmax over atoms, Q = Σ z_i p_i;
    noisy (Fortunato et al. 2017, arXiv:1706.10295): every head layer is a
    :class:`probe.qml.noisy.NoisyLinear`. Each stream is a single (noisy) linear layer on
    the features (Rainbow's Atari streams have a 512-unit hidden layer; ours are sized
    for a few-qubit feature vector).

Parameter counts (f features, A actions, K atoms, 1 when not distributional; a layer
of n_in → n_out has (n_in + 1)·n_out parameters, twice that when noisy):
head = (f + 1)·(A + 1)·K with dueling, (f + 1)·A·K without (× 2 when noisy);
VQC features = L·n (input scales) + 2·L·n (angles) + (n_in + 1)·n with the input map;
MLP features = (n_in + 1)·h.
"""

from __future__ import annotations

import math

import torch

from probe.errors import DataError
from probe.qml.distributional import support
from probe.qml.noisy import NoisyLinear
from probe.qml.training import seeded_linear
from probe.qsim import Circuit, angle_encoding, expval_z, ring_vqc, statevector

MAX_QUBITS = 12


def reupload_ring_circuit(n: int, layers: int) -> Circuit:
    """``layers`` × [RX encoding on every wire + one :func:`probe.qsim.ring_vqc` layer].

    Angle slots per layer: n encoding angles, then 2n trainable RY/RZ angles.
    """
    c = Circuit(n)
    for _ in range(layers):
        c = c + angle_encoding(n, rotation="RX") + ring_vqc(n, 1)
    return c


class RingVQCFeatures(torch.nn.Module):
    """⟨Z_i⟩ of a data re-uploading ring VQC; output shape (B, n_qubits), values in [−1, 1]."""

    def __init__(self, n_inputs: int, layers: int, gen: torch.Generator, *, qubits: int | None = None) -> None:
        super().__init__()
        n = n_inputs if qubits is None else qubits
        if n > MAX_QUBITS or n < 1:
            raise DataError(f"the ring VQC would need {n} qubits (allowed 1..{MAX_QUBITS})",
                            hint="set qubits= (a trainable linear map sends the observation to that many angles)")
        if layers < 1:
            raise DataError(f"the ring VQC needs layers >= 1; got {layers}")
        self.n, self.layers = n, layers
        self.circuit = reupload_ring_circuit(n, layers)
        self.weights = torch.nn.Parameter(2 * math.pi * torch.rand(layers * 2 * n, generator=gen, dtype=torch.float64))
        self.input_scale = torch.nn.Parameter(torch.ones(layers, n, dtype=torch.float64))
        self.project = None if qubits is None else seeded_linear(n_inputs, n, gen)
        self.out_features = n

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        x = torch.arctan(s if self.project is None else self.project(s))
        n = self.n
        pieces = []
        for layer in range(self.layers):
            pieces.append(self.input_scale[layer][None, :] * x)
            pieces.append(self.weights[layer * 2 * n:(layer + 1) * 2 * n])
        return expval_z(statevector(self.circuit, *pieces))  # the blocked engine: ~8x cheaper than backprop here


class MLPFeatures(torch.nn.Module):
    """Linear(n_inputs, hidden) − ReLU; output shape (B, hidden)."""

    def __init__(self, n_inputs: int, hidden: int, gen: torch.Generator) -> None:
        super().__init__()
        self.body = seeded_linear(n_inputs, hidden, gen)
        self.out_features = hidden

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(s))


def _layer(n_in: int, n_out: int, gen: torch.Generator, noisy: bool, sigma0: float) -> torch.nn.Module:
    return NoisyLinear(n_in, n_out, gen, sigma0=sigma0) if noisy else seeded_linear(n_in, n_out, gen)


class QHead(torch.nn.Module):
    """Linear / dueling × expected / distributional × plain / noisy head; see the module notes."""

    def __init__(self, n_features: int, n_actions: int, gen: torch.Generator, *, dueling: bool = False,
                 distributional: bool = False, noisy: bool = False, n_atoms: int = 51, sigma0: float = 0.5) -> None:
        super().__init__()
        self.n_actions, self.dueling, self.distributional = n_actions, dueling, distributional
        self.k = n_atoms if distributional else 1
        self.advantage = _layer(n_features, n_actions * self.k, gen, noisy, sigma0)
        self.value = _layer(n_features, self.k, gen, noisy, sigma0) if dueling else None

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Shape (B, A, K): per-atom logits (distributional) or Q values (K = 1)."""
        adv = self.advantage(f).reshape(f.shape[0], self.n_actions, self.k)
        if self.value is None:
            return adv
        return self.value(f)[:, None, :] + adv - adv.mean(1, keepdim=True)


class QNetwork(torch.nn.Module):
    """features → head; ``forward`` gives Q (B, A); ``log_dist`` gives log p (B, A, K) when distributional."""

    def __init__(self, features: torch.nn.Module, head: QHead, *, v_min: float = -10.0, v_max: float = 10.0) -> None:
        super().__init__()
        self.features, self.head = features, head
        self.distributional = head.distributional
        self.register_buffer("atoms", support(v_min, v_max, head.k) if head.distributional else torch.zeros(1,
                                                                                                         dtype=torch.float64))

    def log_dist(self, s: torch.Tensor) -> torch.Tensor:
        if not self.distributional:
            raise DataError("log_dist needs a distributional head")
        return torch.log_softmax(self.head(self.features(s)), dim=-1)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(s))
        if not self.distributional:
            return out[..., 0]
        return (torch.softmax(out, dim=-1) * self.atoms).sum(-1)


def head_parameter_count(n_features: int, n_actions: int, *, dueling: bool = False, distributional: bool = False,
                         noisy: bool = False, n_atoms: int = 51) -> int:
    k = n_atoms if distributional else 1
    outs = (n_actions + 1) * k if dueling else n_actions * k
    return (2 if noisy else 1) * (n_features + 1) * outs


def vqc_parameter_count(n_inputs: int, n_actions: int, layers: int, *, qubits: int | None = None,
                        **head: bool | int) -> int:
    """Trainable parameters of a ring-VQC network (see the module notes for the formula)."""
    n = n_inputs if qubits is None else qubits
    extractor = 3 * layers * n + (0 if qubits is None else (n_inputs + 1) * n)
    return extractor + head_parameter_count(n, n_actions, **head)  # type: ignore[arg-type]


def matched_hidden(n_params: int, n_inputs: int, n_actions: int, **head: bool | int) -> int:
    """MLP width h ≥ 1 whose network (n_inputs + 1)·h + head(h) is closest to ``n_params``."""
    def count(h: int) -> int:
        return (n_inputs + 1) * h + head_parameter_count(h, n_actions, **head)  # type: ignore[arg-type]

    per_unit = count(2) - count(1)  # the count is affine in h
    guess = max(1, round((n_params - (count(1) - per_unit)) / per_unit))
    return min((h for h in (guess - 1, guess, guess + 1) if h >= 1), key=lambda h: (abs(count(h) - n_params), h))
