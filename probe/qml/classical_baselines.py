"""Classical baselines that run beside every quantum classifier.

A quantum result means nothing without them. All three are scikit-learn
estimators on standardised features:

- ``svm-rbf``: ``SVC(kernel="rbf", C=1, gamma="scale")``;
- ``logreg``: multinomial ``LogisticRegression`` (L2, C=1);
- ``mlp``: ``MLPClassifier`` with one hidden layer whose width is chosen so its
  parameter count matches a target (the quantum model it stands beside).
"""

from __future__ import annotations

from typing import Any

from probe.errors import DataError

CLASSICAL = ("svm-rbf", "logreg", "mlp")


def mlp_parameter_count(n_features: int, hidden: int, n_classes: int) -> int:
    """Weights + biases of sklearn's one-hidden-layer MLPClassifier.

    sklearn uses one logistic output unit for two classes and C softmax units otherwise.

    Examples
    --------
    >>> mlp_parameter_count(4, 3, 3)   # 4*3 + 3 + 3*3 + 3
    27
    """
    out = 1 if n_classes == 2 else n_classes
    return n_features * hidden + hidden + hidden * out + out


def matched_hidden_width(n_params: int, n_features: int, n_classes: int) -> int:
    """Hidden width whose MLP parameter count is closest to ``n_params`` (at least 1).

    Examples
    --------
    >>> matched_hidden_width(27, 4, 3)
    3
    """
    out = 1 if n_classes == 2 else n_classes
    best = max(1, round((n_params - out) / (n_features + 1 + out)))
    candidates = [h for h in (best - 1, best, best + 1) if h >= 1]
    return min(candidates, key=lambda h: abs(mlp_parameter_count(n_features, h, n_classes) - n_params))


def make_classical(name: str, *, n_features: int, n_classes: int, seed: int, match_params: int | None = None,
                   hidden: int = 8) -> Any:
    """A fresh, unfitted sklearn estimator for a baseline name.

    Parameters
    ----------
    name : {"svm-rbf", "logreg", "mlp"}
    n_features, n_classes : int
        Input width and number of classes (used to match the MLP's size).
    seed : int
        Random state of the estimator (MLP initialisation; SVC/logreg are deterministic).
    match_params : int, optional
        Give the MLP about this many parameters; otherwise ``hidden`` units.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    if name == "svm-rbf":
        return SVC(kernel="rbf", C=1.0, gamma="scale")
    if name == "logreg":
        return LogisticRegression(C=1.0, max_iter=5000)
    if name == "mlp":
        width = matched_hidden_width(match_params, n_features, n_classes) if match_params else hidden
        return MLPClassifier(hidden_layer_sizes=(width,), max_iter=3000, random_state=seed, solver="adam",
                             learning_rate_init=1e-2, tol=1e-5, n_iter_no_change=50)
    raise DataError(f"unknown classical model {name!r}", hint=f"use one of {', '.join(CLASSICAL)}")


def classical_parameter_count(estimator: Any) -> int:
    """Trainable parameters of a fitted baseline (support vectors count as dual coefficients for SVC)."""
    if hasattr(estimator, "coefs_"):
        return int(sum(w.size for w in estimator.coefs_) + sum(b.size for b in estimator.intercepts_))
    if hasattr(estimator, "dual_coef_"):
        return int(estimator.dual_coef_.size + estimator.intercept_.size)
    if hasattr(estimator, "coef_"):
        return int(estimator.coef_.size + estimator.intercept_.size)
    return 0
