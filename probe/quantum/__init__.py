"""probe.quantum: the quantum studies (``probe quantum ...``) and, re-exported, the simulator core
of :mod:`probe.qsim`.

Each study function takes the study's settings and the run options of
:class:`probe.How` as keyword arguments (same names and defaults as the CLI flags,
``-`` written ``_``; lists or comma strings where the CLI takes a list; ranges as
lists or ``"1..5"``), writes a run folder with its report (``report=False`` skips the
report), and returns the typed result::

    import probe
    probe.quantum.power(gate="CNOT").entangling_power                       # 2/9
    probe.quantum.expressibility(ansatz=["ring", "sim2"], qubits=3, layers="1..3").to_frame()
    probe.quantum.capability(ansatz="sim1", qubits=3, layers=[1, 2])
    probe.quantum.mie(qubits=6, depths="1..4", rates=[0, 0.2]).mie(4, 0.2)  # (bits, SE)
    probe.quantum.classify(data="iris", models=["qsvc", "svm-rbf"], folds=5, seeds=5).accuracy("qsvc")
    probe.quantum.compare("runs/quantum-classify-iris-.../", model_a="qsvc", model_b="svm-rbf").p_value()
    probe.quantum.overlap("emb.npy", "labels.npy", supcon=True)
    probe.quantum.rl(env="bandit", episodes=50, seeds=3).eval_return("mlp-dqn")

Passing ``out=`` names the run folder; calling again with the same ``out`` resumes
an interrupted table, scan, cross-validation or training where it stopped.
"""

from __future__ import annotations

from typing import Any

from probe.qsim import *  # noqa: F403
from probe.qsim import __all__ as _qsim_all


def _call(experiment: str, kwargs: dict[str, Any]) -> Any:
    from probe.api import call

    return call(experiment, **kwargs)


def power(gate: str | None = None, **kwargs: Any) -> Any:
    """Entangling and disentangling power (and capacities) of a unitary (``probe quantum power``).

    ``gate="CNOT"`` or ``unitary=`` a file or a square array; ``cut``, ``dims``, ``ancilla``,
    ``capacity_starts`` (16), ``mc_samples`` (4000), ``tolerance``, ``seed``.
    Returns :class:`probe.experiments.quantum.power.PowerResult` (``.entangling_power``, ...).
    """
    return _call("quantum-power", {"gate": gate, **kwargs})


def expressibility(**kwargs: Any) -> Any:
    """Sim et al. expressibility per (ansatz, layers) (``probe quantum expressibility``).

    ``ansatz`` ("ring"), ``qubits`` (4), ``layers`` ("1..5"), ``samples`` (5000 pairs), ``bins`` (75), ``seed``.
    Returns :class:`probe.experiments.quantum.tables.ExpressibilityTableResult`.
    """
    return _call("quantum-expressibility", kwargs)


def capability(**kwargs: Any) -> Any:
    """Sim et al. entangling capability per (ansatz, layers) (``probe quantum capability``).

    ``ansatz``, ``qubits``, ``layers``, ``samples`` (1000 draws), ``seed``.
    Returns :class:`probe.experiments.quantum.tables.CapabilityTableResult`.
    """
    return _call("quantum-capability", kwargs)


def mie(**kwargs: Any) -> Any:
    """Measurement-induced entanglement of random circuits (``probe quantum mie``).

    ``qubits`` (8), ``depths`` ("1..8"), ``rates`` (0), ``geometry``, ``pair``, ``circuits``, ``trajectories``,
    ``learn`` with ``records``, ``epochs``, ``hidden``, ``learn_circuits``; ``seed``.
    Returns :class:`probe.experiments.quantum.mie.MieResult`.
    """
    return _call("quantum-mie", kwargs)


def classify(data: str = "", **kwargs: Any) -> Any:
    """Quantum classifiers beside classical baselines, repeated k-fold (``probe quantum classify``).

    ``data`` ("iris", "digits-pca8", a .csv/.npz), ``models``, ``encoding``, ``ansatz``, ``layers``, ``epochs``,
    ``lr``, ``reps``, ``folds`` (5), ``seeds`` (5), ``seed``, ``metric``, ``alternative``, ``alpha``.
    Returns :class:`probe.experiments.quantum.classify.ClassifyResult`.
    """
    return _call("quantum-classify", {"data": data, **kwargs})


def compare(run_a: Any = "", run_b: Any = None, **kwargs: Any) -> Any:
    """Paired tests of two models' scores (``probe quantum compare``).

    ``run_a`` / ``run_b``: classify run folders or CSV files of scores; ``model_a``, ``model_b``, ``metric``,
    ``alternative``, ``alpha``, ``pair_on``, ``cv_correction``.
    Returns :class:`probe.experiments.quantum.compare.CompareResult`.
    """
    return _call("quantum-compare", {"run_a": str(run_a), "run_b": None if run_b is None else str(run_b), **kwargs})


def overlap(embeddings: Any = None, labels: Any = None, **kwargs: Any) -> Any:
    """Latent class overlap, head vs tail, and optionally a SupCon head (``probe quantum overlap``).

    ``embeddings`` / ``labels``: .npy files (or ``demo=True``); ``head``, ``tail_fraction``, ``k``, ``metric``,
    ``supcon`` with ``repeats``, ``test_size``, ``dim``, ``hidden``, ``epochs``, ``lr``, ``temperature``; ``seed``.
    Returns :class:`probe.experiments.quantum.overlap.OverlapResult`.
    """
    return _call("quantum-overlap", {"embeddings": None if embeddings is None else str(embeddings),
                                     "labels": None if labels is None else str(labels), **kwargs})


def rl(env: str = "CartPole-v1", **kwargs: Any) -> Any:
    """DQN with a ring-VQC Q-function beside a parameter-matched MLP (``probe quantum rl``).

    ``env``, ``agent``, ``episodes`` (300), ``seeds`` (1), ``layers``, ``lr``, ``batch_size``, ``train_every``,
    ``n_step``, ``double``, ``prioritized``, ``eval_episodes``; ``seed``.
    Returns :class:`probe.experiments.quantum.rl.RLResult`.
    """
    return _call("quantum-rl", {"env": env, **kwargs})


STUDIES = ("power", "expressibility", "capability", "mie", "classify", "compare", "overlap", "rl")
"""The study functions of this namespace."""

__all__ = [*_qsim_all, *STUDIES]
