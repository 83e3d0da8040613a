"""Datasets that work offline, splits with recorded seeds, and preprocessing fit on training folds only.

Built in (from scikit-learn, no download): ``iris``, ``digits``, ``breast-cancer``,
``wine``; any of them with ``-pcaN`` (``digits-pca8``: PCA to 8 components, the
offline stand-in for the MNIST-PCA of the QSVC/QNN papers). User data:
``path.csv`` (header row; label column named by ``label_column`` or the last
one) or ``path.npz`` (arrays ``X`` and ``y``; ``X`` of shape (n, h, w) is read as images, e.g. BreastMNIST).

PCA and scaling are never fit on a test fold: :func:`fit_preprocess` fits on
the training rows of a split and applies the fit to its test rows.

Also here: a long-tailed labelled sentence set the project generates
(:func:`long_tail_topics`, head and tail topics that sit close in meaning) and
MiniLM embeddings of it, for the class-overlap demonstration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from probe._types import FloatArray, IntArray
from probe.errors import DataError

BUILTIN = ("iris", "digits", "breast-cancer", "wine")
Scaling = Literal["angle", "standard", "none"]


@dataclass(frozen=True)
class Dataset:
    """A classification dataset: features ``X`` (n, d), integer labels ``y`` (n,) indexing ``classes``."""

    name: str
    X: FloatArray
    y: IntArray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    pca: int | None = None
    """Components to keep; the PCA is fit per training fold, not here."""
    source: str = ""
    images: FloatArray | None = field(default=None, repr=False)
    """(n, h, w) images when the data are pictures (digits), for convolutional models."""

    @property
    def n_features(self) -> int:
        """Features a model sees after preprocessing."""
        return self.pca or self.X.shape[1]

    def summary(self) -> dict[str, Any]:
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {"name": self.name, "n": int(self.X.shape[0]), "n_raw_features": int(self.X.shape[1]),
                "n_features": self.n_features, "pca": self.pca, "classes": list(self.classes),
                "class_counts": counts.tolist(), "source": self.source}


@dataclass(frozen=True, slots=True)
class Split:
    """One train/test split of stratified k-fold, labelled by fold and the seed that shuffled it."""

    fold: int
    seed: int
    train: IntArray
    test: IntArray


# --------------------------------------------------------------------------- loading


def load_dataset(spec: str, *, label_column: str | None = None, classes: Sequence[str] | None = None) -> Dataset:
    """Load a built-in dataset (``iris``, ``digits-pca8``, ...) or a CSV / NPZ file.

    Parameters
    ----------
    spec : str
        ``NAME`` or ``NAME-pcaN`` for a built-in; a path ending in ``.csv`` or ``.npz``
        (also with ``-pcaN`` appended after the suffix, e.g. ``data.csv-pca4``).
    label_column : str, optional
        CSV column holding the labels (default: the last column).
    classes : sequence of str, optional
        Keep only these classes (e.g. ``["3", "8"]`` for a binary digits task).

    Raises
    ------
    DataError
        Unknown name, unreadable file, non-numeric features, a single class.
    """
    match = re.fullmatch(r"(.+?)-pca(\d+)", spec)
    base, pca = (match.group(1), int(match.group(2))) if match else (spec, None)
    if base in BUILTIN:
        data = _builtin(base)
    elif base.endswith((".csv", ".npz")):
        data = _from_file(Path(base), label_column)
    else:
        raise DataError(f"unknown dataset {spec!r}",
                        hint=f"use one of {', '.join(BUILTIN)} (optionally -pcaN), or a .csv/.npz file")
    if classes is not None:
        data = _keep_classes(data, [str(c) for c in classes])
    if pca is not None and not 1 <= pca <= data.X.shape[1]:
        raise DataError(f"{spec}: PCA to {pca} components needs 1..{data.X.shape[1]} (the number of features)")
    if pca is not None:
        data = Dataset(spec, data.X, data.y, data.classes, data.feature_names, pca, data.source, data.images)
    _check_labels(data, spec)
    return data


def _builtin(name: str) -> Dataset:
    from sklearn import datasets as skd

    loader = {"iris": skd.load_iris, "digits": skd.load_digits, "breast-cancer": skd.load_breast_cancer,
              "wine": skd.load_wine}[name]
    bunch = loader()
    images = np.asarray(bunch.images, dtype=np.float64) if name == "digits" else None
    return Dataset(name, np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64),
                   tuple(str(c) for c in bunch.target_names), tuple(str(f) for f in bunch.feature_names),
                   source=f"sklearn.datasets.load_{name.replace('-', '_')}", images=images)


def _from_file(path: Path, label_column: str | None) -> Dataset:
    images = None
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                if "X" not in npz or "y" not in npz:
                    raise DataError(f"{path}: an .npz dataset needs arrays 'X' and 'y', found {', '.join(npz.files)}")
                x, y_raw = np.asarray(npz["X"]), np.asarray(npz["y"])
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable .npz ({exc})") from exc
        y_raw = y_raw.reshape(-1) if y_raw.ndim == 2 and y_raw.shape[1] == 1 else y_raw  # MedMNIST labels are (n, 1)
        if x.ndim not in (2, 3) or y_raw.ndim != 1 or y_raw.shape[0] != x.shape[0]:
            raise DataError(f"{path}: X must be (n, d) or images (n, h, w) and y (n,), got {x.shape} and {y_raw.shape}")
        if x.ndim == 3:  # images: keep them for CNNs, flatten for everything else
            images = np.asarray(x, dtype=np.float64)
            x = images.reshape(len(images), -1)
        names = tuple(f"x{i}" for i in range(x.shape[1]))
    else:
        import pandas as pd

        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable CSV ({exc})") from exc
        column = label_column or str(frame.columns[-1])
        if column not in frame.columns:
            raise DataError(f"{path}: no label column {column!r}", hint=f"columns: {', '.join(map(str, frame.columns))}")
        features = frame.drop(columns=[column])
        bad = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        if bad:
            raise DataError(f"{path}: non-numeric feature column(s) {', '.join(bad[:5])}",
                            hint="encode them as numbers or drop them; the label column is set with --label-column")
        x, y_raw, names = features.to_numpy(), frame[column].to_numpy(), tuple(map(str, features.columns))
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))[:5].tolist()
        raise DataError(f"{path}: missing or infinite feature values in rows {rows}", hint="impute or drop them")
    labels, y = np.unique(y_raw.astype(str), return_inverse=True)
    return Dataset(path.name, x, y.astype(np.int64), tuple(map(str, labels)), names, source=str(path), images=images)


def _keep_classes(data: Dataset, keep: list[str]) -> Dataset:
    unknown = sorted(set(keep) - set(data.classes))
    if unknown:
        raise DataError(f"{data.name}: no class {', '.join(unknown)}", hint=f"classes: {', '.join(data.classes)}")
    old = [data.classes.index(c) for c in keep]
    mask = np.isin(data.y, old)
    remap = {o: i for i, o in enumerate(old)}
    y = np.array([remap[v] for v in data.y[mask]], dtype=np.int64)
    images = data.images[mask] if data.images is not None else None
    return Dataset(f"{data.name}[{','.join(keep)}]", data.X[mask], y, tuple(keep), data.feature_names, data.pca,
                   data.source, images)


def _check_labels(data: Dataset, spec: str) -> None:
    counts = np.bincount(data.y, minlength=len(data.classes))
    if len(data.classes) < 2:
        raise DataError(f"{spec}: a classification dataset needs at least two classes")
    if counts.min() < 2:
        raise DataError(f"{spec}: class {data.classes[int(counts.argmin())]!r} has fewer than 2 samples")


# --------------------------------------------------------------------------- splits and preprocessing


def stratified_splits(y: IntArray, *, n_folds: int, seeds: Sequence[int]) -> list[Split]:
    """Repeated stratified k-fold: for each seed, a shuffled ``StratifiedKFold(n_folds)`` (sklearn).

    Every split records its fold index and seed, so any row of a score table can
    be re-created.
    """
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y)
    if n_folds < 2:
        raise DataError(f"--folds must be at least 2, got {n_folds}")
    if counts[counts > 0].min() < n_folds:
        raise DataError(f"--folds {n_folds} exceeds the size of the smallest class ({counts[counts > 0].min()})",
                        hint="use fewer folds")
    out = []
    for seed in seeds:
        skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(seed))
        for fold, (train, test) in enumerate(skf.split(np.zeros(len(y)), y)):
            out.append(Split(fold, int(seed), train.astype(np.int64), test.astype(np.int64)))
    return out


@dataclass(frozen=True, slots=True)
class Preprocess:
    """A preprocessing fit on one training fold: centring/scaling -> PCA -> final scaling."""

    pipeline: Any
    explained_variance: float
    """Fraction of training variance the PCA keeps (1.0 without PCA)."""

    def transform(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.pipeline.transform(x), dtype=np.float64)


def fit_preprocess(x_train: FloatArray, *, pca: int | None, scaling: Scaling) -> Preprocess:
    """Fit StandardScaler -> PCA(pca) -> scaling on training rows only.

    ``scaling``: "angle" maps each feature to [0, π] on the training range (rotation
    angles for angle encodings; test values may fall slightly outside), "standard"
    to zero mean and unit variance, "none" leaves the PCA output as is.
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    steps: list[Any] = [StandardScaler()]
    if pca is not None:
        steps.append(PCA(n_components=pca, svd_solver="full"))
    if scaling == "angle":
        steps.append(MinMaxScaler(feature_range=(0.0, math.pi)))
    elif scaling == "standard" and pca is not None:
        steps.append(StandardScaler())
    elif scaling not in ("standard", "none"):
        raise DataError(f"scaling must be 'angle', 'standard' or 'none', got {scaling!r}")
    if len(steps) == 1 and scaling == "none":
        steps = [FunctionTransformer()]
    pipe = make_pipeline(*steps).fit(x_train)
    kept = float(pipe.named_steps["pca"].explained_variance_ratio_.sum()) if pca is not None else 1.0
    return Preprocess(pipe, kept)


# --------------------------------------------------------------------------- long-tailed sentences


_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "football": (("the striker", "the goalkeeper", "the midfielder", "the referee", "the coach", "the full-back"),
                 ("scored from a corner", "saved a penalty", "was shown a yellow card", "missed an open goal",
                  "celebrated the league title", "headed the ball into the net")),
    "cooking": (("the chef", "my grandmother", "the line cook", "the home cook", "the sous-chef", "my uncle"),
                ("seared the steak", "simmered the tomato sauce", "chopped the onions", "seasoned the soup",
                 "fried the garlic", "roasted the vegetables")),
    "finance": (("the analyst", "the central bank", "the fund manager", "the investor", "the treasurer", "the broker"),
                ("raised interest rates", "sold the government bonds", "bought shares in the bank",
                 "cut the dividend forecast", "hedged the currency risk", "reported quarterly earnings")),
    "rugby": (("the fly-half", "the hooker", "the scrum-half", "the lock", "the prop", "the winger"),
              ("won the lineout", "kicked a conversion", "was sent to the sin bin", "scored a try in the corner",
               "collapsed the scrum", "broke through the ruck")),
    "baking": (("the baker", "the pastry chef", "my aunt", "the apprentice", "the patissier", "my neighbour"),
               ("proofed the sourdough", "folded the croissant dough", "piped the meringue",
                "let the bread rise overnight", "glazed the cinnamon buns", "creamed the butter and sugar")),
    "crypto": (("the miner", "the exchange", "the wallet owner", "the token holder", "the trader", "the validator"),
               ("staked the coins", "bought bitcoin at the peak", "lost the private key", "minted a token",
                "paid high gas fees", "sold ether on the exchange")),
}
_FRAMES = ("{s} {a}.", "Yesterday {s} {a}.", "Everyone says {s} {a} again.", "I read that {s} {a}.",
           "It is rare that {s} {a}.", "Before noon, {s} {a}.", "According to the report, {s} {a}.",
           "Nobody expected that {s} {a}.")
_WHEN = ("", " on Sunday", " last night", " this morning", " after a long week", " despite the weather")
DEFAULT_SIZES = {"football": 300, "cooking": 200, "finance": 150, "rugby": 20, "baking": 15, "crypto": 12}


def long_tail_topics(*, sizes: dict[str, int] | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
    """A long-tailed labelled sentence set: three head topics and three tail topics close to them.

    Tail topics sit next to a head topic in meaning (rugby/football,
    baking/cooking, crypto/finance), so a generic sentence encoder places them
    in overlapping regions: the "feature borrowing" set-up of CORAL, in text.
    Sentences are drawn without replacement from templates x subjects x
    actions x time phrases (1,728 distinct sentences per topic).

    Returns
    -------
    texts, labels : list of str
    """
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    unknown = sorted(set(sizes) - set(_TOPICS))
    if unknown:
        raise DataError(f"unknown topic(s) {', '.join(unknown)}", hint=f"topics: {', '.join(_TOPICS)}")
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for topic, m in sizes.items():
        subjects, actions = _TOPICS[topic]
        total = len(_FRAMES) * len(subjects) * len(actions) * len(_WHEN)
        if not 0 < m <= total:
            raise DataError(f"topic {topic!r}: size must be 1..{total}, got {m}")
        for code in rng.choice(total, size=m, replace=False):
            f, rest = divmod(int(code), len(subjects) * len(actions) * len(_WHEN))
            s, rest = divmod(rest, len(actions) * len(_WHEN))
            a, w = divmod(rest, len(_WHEN))
            sentence = _FRAMES[f].format(s=subjects[s], a=actions[a] + _WHEN[w])
            texts.append(sentence[0].upper() + sentence[1:])
            labels.append(topic)
    return texts, labels


def minilm_embeddings(texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
    """Unit-norm all-MiniLM-L6-v2 sentence embeddings (384-d) from the weights shipped with probe."""
    from probe.providers import local_models

    model = local_models.load_sentence_encoder(local_models.resolve("minilm", prefix="embed"), device="cpu")
    emb = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(emb, dtype=np.float64)
