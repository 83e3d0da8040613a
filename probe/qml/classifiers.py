"""Quantum classifiers with a scikit-learn interface: QSVC, QNN (VQC) and the hybrid QCNN.

- :class:`QSVC`: ``sklearn.svm.SVC(kernel="precomputed")`` on a fidelity kernel
  from :mod:`probe.qml.kernels` (Havlíček et al. 2019); records kernel-target
  alignment and concentration of its training Gram matrix.
- :class:`QNNClassifier`: encoding (angle, ZZ or amplitude) + trainable ansatz
  (ring VQC, hardware-efficient line, ...), ⟨Z⟩ on every qubit, a linear readout
  to class logits, cross-entropy, Adam (the variational quantum classifier of
  the QSVC-vs-QNN comparison, Villalba-Ferreiro et al. 2025, arXiv:2512.03094).
- :class:`HybridQCNN`: the parallel multi-circuit hybrid of Yurtseven (2025,
  arXiv:2512.02066) at 4 qubits: a small CNN trunk whose features feed an
  amplitude-encoding VQC and an angle-encoding VQC with circular (ring)
  entanglement; their ⟨Z⟩ are fused with the classical features before the
  classifier. ``quantum=False`` gives the parameter-matched classical CNN.

All training is seeded through a private ``torch.Generator``; the global torch
RNG is never touched. Trainable weights are float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from probe.errors import DataError
from probe.qml.kernels import fidelity_kernel, kernel_concentration, kernel_target_alignment, n_qubits_for
from probe.qml.training import (
    TorchClassifierMixin,
    check_xy,
    fit_classifier,
    seeded_generator,
    seeded_linear,
)
from probe.qsim import (
    amplitude_encoding,
    angle_encoding,
    build_ansatz,
    expval_z,
    statevector,
    zz_angles,
    zz_feature_map,
)

ENCODINGS = ("angle", "zz", "amplitude")
_ANSATZ_ALIASES = {"hea": "line", "hardware-efficient": "line"}


# --------------------------------------------------------------------------- QSVC


class QSVC(ClassifierMixin, BaseEstimator):
    """Support vector classifier on a precomputed quantum fidelity kernel.

    Parameters
    ----------
    feature_map : {"angle", "zz", "amplitude", "angle-ring"}
    reps : int
        Repetitions of the ZZ / ring map.
    C : float
        SVC regularisation.

    Attributes
    ----------
    diagnostics_ : dict
        ``alignment`` (kernel-target alignment of the training Gram matrix),
        ``mean_offdiag`` and ``var_offdiag`` (concentration), ``n_qubits``.
    """

    def __init__(self, feature_map: str = "angle", reps: int = 2, C: float = 1.0) -> None:
        self.feature_map = feature_map
        self.reps = reps
        self.C = C

    def fit(self, x: Any, y: Any) -> QSVC:
        from sklearn.svm import SVC

        a, labels = check_xy(x, y)
        self.x_train_ = a
        k = fidelity_kernel(a, feature_map=self.feature_map, reps=self.reps)
        self.svc_ = SVC(kernel="precomputed", C=self.C).fit(k, labels)
        self.classes_ = self.svc_.classes_
        stats = kernel_concentration(k)
        self.diagnostics_ = {"alignment": kernel_target_alignment(k, labels), "mean_offdiag": stats.mean_offdiag,
                             "var_offdiag": stats.var_offdiag,
                             "n_qubits": n_qubits_for(a.shape[1], self.feature_map)}
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        a, _ = check_xy(x)
        return self.svc_.decision_function(fidelity_kernel(a, self.x_train_, feature_map=self.feature_map,
                                                          reps=self.reps))

    def predict(self, x: Any) -> np.ndarray:
        a, _ = check_xy(x)
        return self.svc_.predict(fidelity_kernel(a, self.x_train_, feature_map=self.feature_map, reps=self.reps))

    @property
    def n_params_(self) -> int:
        """Dual coefficients + intercepts (the kernel itself has no trainable parameters)."""
        return int(self.svc_.dual_coef_.size + self.svc_.intercept_.size)


# --------------------------------------------------------------------------- QNN


class _VQC(torch.nn.Module):
    def __init__(self, encoding: str, ansatz: str, n_qubits: int, layers: int, reps: int, n_classes: int,
                 gen: torch.Generator) -> None:
        super().__init__()
        self.encoding, self.reps, self.n_qubits = encoding, reps, n_qubits
        body = build_ansatz(_ANSATZ_ALIASES.get(ansatz, ansatz), n_qubits, layers)
        if encoding == "angle":
            self.circuit = angle_encoding(n_qubits) + body
        elif encoding == "zz":
            self.circuit = zz_feature_map(n_qubits, reps) + body
        else:
            self.circuit = body
        self.weights = torch.nn.Parameter(2 * math.pi * torch.rand(body.n_params, generator=gen, dtype=torch.float64))
        self.readout = seeded_linear(n_qubits, n_classes, gen)

    def expvals(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """⟨Z_i⟩ of every qubit, (B, n_qubits), for inputs ``x`` (B, F).

        ``weights``: the ansatz angles, (P,) shared by the batch (default: this module's)
        or (B, P), one row per sample (several stacked models in one call, :mod:`probe.qml.stacked`).
        """
        w = self.weights if weights is None else weights
        if self.encoding == "angle":
            psi = statevector(self.circuit, x, w)
        elif self.encoding == "zz":
            psi = statevector(self.circuit, zz_angles(x, self.reps), w)
        else:
            psi = statevector(self.circuit, w, state=amplitude_encoding(x, n_qubits=self.n_qubits))
        return expval_z(psi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.expvals(x))


class QNNClassifier(TorchClassifierMixin, ClassifierMixin, BaseEstimator):
    """Variational quantum classifier: encoding + ansatz, ⟨Z⟩ per qubit, linear readout, cross-entropy.

    Parameters
    ----------
    encoding : {"angle", "zz", "amplitude"}
        Angle: one qubit per feature (features in radians, e.g. scaled to [0, π]);
        ZZ: the Havlíček map (one qubit per feature); amplitude: ceil(log2 F) qubits.
    ansatz : str
        ``ring`` (the VQR-DQN ring VQC), ``line``/``hea`` (hardware-efficient), ``star``,
        ``all``, ``sim1`` … ``sim19`` (see :data:`probe.quantum.ANSATZE`).
    layers : int
        Ansatz layers.
    epochs, lr, batch_size : training schedule (Adam).
    seed : int
        Seeds the initial angles (uniform in [0, 2π)), the readout and the batch order.
    """

    def __init__(self, encoding: str = "angle", ansatz: str = "ring", layers: int = 2, epochs: int = 60,
                 lr: float = 0.05, batch_size: int = 32, reps: int = 1, seed: int = 0) -> None:
        self.encoding = encoding
        self.ansatz = ansatz
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.reps = reps
        self.seed = seed

    def _n_qubits(self, n_features: int) -> int:
        if self.encoding not in ENCODINGS:
            raise DataError(f"unknown encoding {self.encoding!r}", hint=f"use one of {', '.join(ENCODINGS)}")
        return n_qubits_for(n_features, self.encoding)

    def fit(self, x: Any, y: Any) -> QNNClassifier:
        xt, yt, gen = self.start_fit(x, y)
        self.losses_ = fit_classifier(self.module_, xt, yt, epochs=self.epochs, lr=self.lr,
                                      batch_size=self.batch_size, gen=gen)
        return self

    def start_fit(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
        """Check the data, set ``classes_`` and the initial ``module_``; returns (x, class index, generator).

        The generator has drawn the initial weights and readout and next draws the batch
        order: :meth:`fit` and :func:`probe.qml.stacked.fit_qnns` both start here.
        """
        a, labels = check_xy(x, y)
        self.classes_, y_idx = np.unique(labels, return_inverse=True)
        gen = seeded_generator(self.seed)
        self.module_ = _VQC(self.encoding, self.ansatz, self._n_qubits(a.shape[1]), self.layers, self.reps,
                            len(self.classes_), gen)
        return torch.as_tensor(a), torch.as_tensor(y_idx), gen

    def parameter_count_for(self, n_features: int, n_classes: int) -> int:
        """Trainable parameters of this configuration before fitting (to size matched baselines)."""
        q = self._n_qubits(n_features)
        body = build_ansatz(_ANSATZ_ALIASES.get(self.ansatz, self.ansatz), q, self.layers)
        return body.n_params + q * n_classes + n_classes
