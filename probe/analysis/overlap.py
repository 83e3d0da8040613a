"""Latent class overlap of embeddings, head versus tail classes (the CORAL diagnosis).

Rodriguez et al. (2025, CORAL, arXiv:2506.15933) report that the bottleneck
latents of tail classes overlap head-class subspaces in long-tailed diffusion
models, and fix it with a projection head trained with a supervised
contrastive loss. The paper shows the overlap with t-SNE plots (its code
extracts the latents "for visualization"); we found no scalar overlap measure
in it. probe therefore measures overlap four ways, each with a known answer:

- ``bhattacharyya``: Bhattacharyya coefficient BC = exp(-D_B) between Gaussian
  fits of two classes (PCA-reduced, Ledoit-Wolf covariances). 1 for identical
  classes, -> 0 for separated ones. The headline measure.
- ``knn``: chance-normalised k-nearest-neighbour mixing: the fraction of class
  i's neighbours that belong to class j, divided by the fraction expected if
  labels were shuffled. 0 for separated classes, about 1 for identical ones.
  Row = class of the point, column = class of its neighbours, so
  ``knn[tail, head]`` is "feature borrowing" of a tail class from a head class.
- ``subspace``: mean cos^2 of the principal angles between the k-dimensional
  PCA subspaces of the two (centred) classes, ||U_i^T U_j||_F^2 / k: 1 for the
  same subspace, 0 for orthogonal ones, k/D on average for random ones.
- ``silhouette``: mean silhouette width per class (sklearn), near 1 for tight
  separated clusters, near 0 or below for overlapping ones.

:func:`probe.analysis.supcon.fit_supcon_head` trains the CORAL-style fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.errors import DataError

MEASURES = ("bhattacharyya", "knn", "subspace")


@dataclass(frozen=True, slots=True)
class OverlapResult:
    """Pairwise class overlap of one embedding.

    Matrices are (C, C) in the order of ``classes``; diagonals are 1 (subspace,
    Bhattacharyya) or the within-class neighbour rate normalised the same way (knn).
    """

    classes: tuple[str, ...]
    counts: tuple[int, ...]
    head: tuple[str, ...]
    tail: tuple[str, ...]
    bhattacharyya: FloatArray
    knn: FloatArray
    subspace: FloatArray
    silhouette: tuple[float, ...]
    tail_head: dict[str, float]
    """Mean over (tail i, head j) of each measure: the CORAL quantity of interest."""
    n: int
    dim: int
    k_neighbors: int
    subspace_dim: int
    gaussian_dim: int
    metric: str
    method: str = "probe class overlap v1"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        """Long table: class_a, class_b, pair ("tail-head", ...), and one column per measure."""
        import pandas as pd

        kind = {c: ("head" if c in self.head else "tail") for c in self.classes}
        rows = []
        for i, a in enumerate(self.classes):
            for j, b in enumerate(self.classes):
                if i != j:
                    rows.append({"class_a": a, "class_b": b, "pair": f"{kind[a]}-{kind[b]}",
                                 "bhattacharyya": self.bhattacharyya[i, j], "knn": self.knn[i, j],
                                 "subspace": self.subspace[i, j]})
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- checks


def check_embeddings(features: ArrayLike, labels: ArrayLike) -> tuple[FloatArray, np.ndarray, list[str]]:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise DataError(f"embeddings must be a 2-D array (samples, dims), got shape {x.shape}")
    y_raw = np.asarray(labels)
    if y_raw.ndim != 1 or y_raw.shape[0] != x.shape[0]:
        raise DataError(f"labels must be 1-D with one label per embedding row: {x.shape[0]} rows, "
                        f"labels of shape {y_raw.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError("embeddings contain NaN or infinite values")
    names, y = np.unique(y_raw.astype(str), return_inverse=True)
    if names.size < 2:
        raise DataError("class overlap needs at least two classes, got one", hint="check the labels file")
    small = [str(c) for c, m in zip(names, np.bincount(y), strict=True) if m < 3]
    if small:
        raise DataError(f"every class needs at least 3 samples; too few for {', '.join(small)}",
                        hint="drop or merge the rarest classes")
    return x, y, [str(c) for c in names]


def split_head_tail(counts: Sequence[int], *, tail_fraction: float = 0.25) -> np.ndarray:
    """Boolean mask of head classes: count >= tail_fraction x the largest count.

    Examples
    --------
    >>> split_head_tail([500, 300, 40, 10]).tolist()
    [True, True, False, False]
    """
    c = np.asarray(counts, dtype=np.float64)
    return c >= tail_fraction * c.max()


# --------------------------------------------------------------------------- measures


def subspace_overlap(a: ArrayLike, b: ArrayLike, *, k: int) -> float:
    """Mean cos^2 of the principal angles between the top-k PCA subspaces of two point sets.

    Parameters
    ----------
    a, b : array-like, shape (n_a, D), (n_b, D)
        Points of the two classes; each is centred on its own mean.
    k : int
        Subspace dimension (capped at n - 1 and D per set).

    Returns
    -------
    float in [0, 1]
        ||U_a^T U_b||_F^2 / min(k_a, k_b).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.c_[rng.normal(size=(50, 2)), np.zeros((50, 2))]
    >>> y = np.c_[np.zeros((50, 2)), rng.normal(size=(50, 2))]
    >>> round(subspace_overlap(x, x, k=2), 12), round(subspace_overlap(x, y, k=2), 12)
    (1.0, 0.0)
    """
    ua, ub = _basis(np.asarray(a, dtype=np.float64), k), _basis(np.asarray(b, dtype=np.float64), k)
    return float(np.linalg.norm(ua.T @ ub) ** 2 / min(ua.shape[1], ub.shape[1]))


def _basis(x: FloatArray, k: int) -> FloatArray:
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    rank = int((s > s[0] * 1e-10).sum()) if s.size and s[0] > 0 else 0
    return vt[: max(1, min(k, rank))].T


def bhattacharyya_coefficient(mean_a: ArrayLike, cov_a: ArrayLike, mean_b: ArrayLike, cov_b: ArrayLike) -> float:
    """Bhattacharyya coefficient exp(-D_B) of two Gaussians.

    D_B = (1/8) Δμ^T Σ^{-1} Δμ + (1/2) ln(det Σ / sqrt(det Σ_a det Σ_b)),
    Σ = (Σ_a + Σ_b)/2. BC = ∫ sqrt(p q) dx: 1 for identical Gaussians, 0 in the
    limit of separated ones.

    References
    ----------
    Bhattacharyya, A. (1943). Bull. Calcutta Math. Soc. 35, 99-109.
    Kailath, T. (1967). IEEE Trans. Commun. Technol. 15, 52-60.

    Examples
    --------
    >>> round(bhattacharyya_coefficient([0.0], [[1.0]], [2.0], [[1.0]]), 6)  # exp(-4/8)
    0.606531
    """
    ma, mb = np.atleast_1d(np.asarray(mean_a, float)), np.atleast_1d(np.asarray(mean_b, float))
    ca, cb = np.atleast_2d(np.asarray(cov_a, float)), np.atleast_2d(np.asarray(cov_b, float))
    cov = (ca + cb) / 2
    diff = ma - mb
    _, logdet = np.linalg.slogdet(cov)
    _, logdet_a = np.linalg.slogdet(ca)
    _, logdet_b = np.linalg.slogdet(cb)
    d_b = diff @ np.linalg.solve(cov, diff) / 8 + 0.5 * (logdet - 0.5 * (logdet_a + logdet_b))
    return float(math.exp(-max(d_b, 0.0)))


def _gaussian_fits(x: FloatArray, y: np.ndarray, n_classes: int, dim: int) -> list[tuple[FloatArray, FloatArray]]:
    from sklearn.covariance import LedoitWolf

    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    z = centred @ vt[:dim].T  # shared PCA basis, so every class lives in the same space
    fits = []
    for c in range(n_classes):
        zc = z[y == c]
        fits.append((zc.mean(axis=0), LedoitWolf().fit(zc).covariance_))
    return fits


def knn_mixing(x: FloatArray, y: np.ndarray, n_classes: int, *, k: int, metric: str) -> FloatArray:
    """Chance-normalised neighbour rates O[i, j] = P(neighbour in j | point in i) / ((n_j - [i=j]) / (n - 1))."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(x)
    _, idx = nn.kneighbors(x)
    neigh = y[idx[:, 1:]]  # drop the point itself
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    n = x.shape[0]
    rate = np.zeros((n_classes, n_classes))
    for i in range(n_classes):
        rows = neigh[y == i]
        rate[i] = np.bincount(rows.ravel(), minlength=n_classes) / rows.size
    expected = (counts[None, :] - np.eye(n_classes)) / (n - 1)
    return rate / expected


def class_overlap(
    features: ArrayLike, labels: ArrayLike, *, head: Sequence[str] | None = None, tail_fraction: float = 0.25,
    k_neighbors: int = 10, subspace_dim: int = 5, gaussian_dim: int = 10, metric: str = "euclidean",
) -> OverlapResult:
    """Overlap between every pair of classes of an embedding, summarised tail -> head.

    Parameters
    ----------
    features : array-like, shape (n, D)
        Embeddings (any units; cosine metric suits normalised sentence embeddings).
    labels : array-like, shape (n,)
        Class of each row (strings or integers); every class needs >= 3 rows.
    head : sequence of str, optional
        Head classes; default: classes with count >= ``tail_fraction`` x the largest.
    k_neighbors : int
        Neighbours per point for the kNN mixing rate (capped at n - 1).
    subspace_dim : int
        Dimension k of each class's PCA subspace.
    gaussian_dim : int
        PCA dimension in which the Gaussian fits of the Bhattacharyya measure live
        (capped at D and the smallest class size - 1, so tail covariances stay estimable).
    metric : {"euclidean", "cosine"}
        Distance for the kNN and silhouette measures.

    Returns
    -------
    OverlapResult
        Matrices of all three pairwise measures, per-class silhouettes, and the
        tail -> head means in ``tail_head``.
    """
    if metric not in ("euclidean", "cosine"):
        raise DataError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    x, y, names = check_embeddings(features, labels)
    counts = np.bincount(y)
    n_classes, (n, dim) = len(names), x.shape
    if head is None:
        head_mask = split_head_tail(counts, tail_fraction=tail_fraction)
    else:
        unknown = sorted(set(head) - set(names))
        if unknown:
            raise DataError(f"head classes not in the labels: {', '.join(unknown)}",
                            hint=f"labels are: {', '.join(names)}")
        head_mask = np.array([c in set(head) for c in names])
    notes = []
    if head_mask.all():
        notes.append("no tail class: every class is within tail_fraction of the largest")
    k = max(1, min(k_neighbors, n - 1))
    g_dim = max(1, min(gaussian_dim, dim, int(counts.min()) - 1))
    if g_dim < gaussian_dim:
        notes.append(f"Gaussian fits in {g_dim} PCA dimensions (smallest class has {counts.min()} samples)")
    fits = _gaussian_fits(x, y, n_classes, g_dim)
    bc = np.ones((n_classes, n_classes))
    sub = np.ones((n_classes, n_classes))
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            bc[i, j] = bc[j, i] = bhattacharyya_coefficient(*fits[i], *fits[j])
            sub[i, j] = sub[j, i] = subspace_overlap(x[y == i], x[y == j], k=subspace_dim)
    knn = knn_mixing(x, y, n_classes, k=k, metric=metric)
    from sklearn.metrics import silhouette_samples

    sil = silhouette_samples(x, y, metric=metric)
    silhouette = tuple(float(sil[y == c].mean()) for c in range(n_classes))
    tail_idx, head_idx = np.flatnonzero(~head_mask), np.flatnonzero(head_mask)
    tail_head = {}
    for name, mat in (("bhattacharyya", bc), ("knn", knn), ("subspace", sub)):
        block = mat[np.ix_(tail_idx, head_idx)]
        tail_head[name] = float(block.mean()) if block.size else math.nan
    tail_head["silhouette_tail"] = float(np.mean([silhouette[i] for i in tail_idx])) if tail_idx.size else math.nan
    return OverlapResult(
        tuple(names), tuple(int(c) for c in counts), tuple(names[i] for i in head_idx),
        tuple(names[i] for i in tail_idx), bc, knn, sub, silhouette, tail_head, n, dim, k, subspace_dim, g_dim,
        metric, notes=tuple(notes))
