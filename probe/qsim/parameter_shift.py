"""Parameter-shift gradients: an independent check on the autograd of :func:`statevector`.

For a gate ``exp(-iθG)`` whose generator has eigenvalue differences {±1}·r the
two-term rule ``∂f = r [f(θ + π/4r) − f(θ − π/4r)]`` is exact; the controlled
rotations (differences {1/2, 1}) need the four-term rule (Wierichs, Izaac, Wang &
Lin 2022, "General parameter-shift rules for quantum gradients", arXiv:2107.12390):
``∂f = c₊[f(θ+π/2) − f(θ−π/2)] − c₋[f(θ+3π/2) − f(θ−3π/2)]``, ``c± = (√2 ± 1)/(4√2)``.
An angle slot used by several gates gets the sum of the per-gate shifts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from probe.errors import DataError
from probe.qsim.circuit import Circuit, Op
from probe.qsim.simulator import statevector

__all__ = ["parameter_shift"]

_TWO_TERM = {"RX", "RY", "RZ", "RXX", "RYY", "RZZ", "PHASE", "CPHASE"}
_FOUR_TERM = {"CRX", "CRY", "CRZ"}
_CP = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_CM = (math.sqrt(2) - 1) / (4 * math.sqrt(2))


def parameter_shift(circuit: Circuit, params: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Gradient of ``fn(statevector(circuit, params))`` w.r.t. ``params`` by parameter shifts.

    Parameters
    ----------
    circuit : Circuit
    params : array-like of shape (P,)
        One parameter set (not batched).
    fn : callable
        Maps a state (2^n,) to a real scalar that is an expectation value
        (linear in ``|ψ⟩⟨ψ|``), e.g. ``lambda s: expval_z(s, [0])[0]``.

    Returns
    -------
    torch.Tensor of shape (P,), float64
    """
    theta = torch.as_tensor(params, dtype=torch.float64).detach()
    if theta.dim() != 1 or theta.shape[0] != circuit.n_params:
        raise DataError(f"parameter_shift needs one parameter vector of length {circuit.n_params}; "
                        f"got shape {tuple(theta.shape)}")
    expanded = Circuit(circuit.n_qubits)
    owner: list[int] = []
    for op in circuit.ops:
        if op.param is None:
            expanded.ops.append(op)
            continue
        if op.name not in _TWO_TERM | _FOUR_TERM:
            raise DataError(f"no parameter-shift rule for gate {op.name}")
        expanded.ops.append(Op(op.name, op.wires, len(owner), op.matrix))
        owner.append(op.param)
    expanded.n_params = len(owner)
    base = theta[owner] if owner else theta[:0]

    def f(k: int, shift: float) -> float:
        t = base.clone()
        t[k] += shift
        with torch.no_grad():
            return float(fn(statevector(expanded, t)))

    grad = torch.zeros_like(theta)
    gate_of = [op for op in expanded.ops if op.param is not None]
    for k, op in enumerate(gate_of):
        if op.name in _TWO_TERM:
            d = 0.5 * (f(k, math.pi / 2) - f(k, -math.pi / 2))
        else:
            d = _CP * (f(k, math.pi / 2) - f(k, -math.pi / 2)) - _CM * (f(k, 3 * math.pi / 2) - f(k, -3 * math.pi / 2))
        grad[owner[k]] += d
    return grad
