"""Latent class overlap of embeddings, head vs tail (``probe quantum overlap``, ``probe.quantum.overlap``).

The CORAL diagnosis (Rodriguez et al. 2025, arXiv:2506.15933): four overlap
measures between classes (:func:`probe.analysis.overlap.class_overlap`), optionally
a supervised-contrastive projection head trained to reduce them and re-measured on
held-out rows (:func:`probe.analysis.supcon.supcon_study`), and a 2-D t-SNE map of
the embeddings for the report (up to :data:`TSNE_MAX_ROWS` rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe.errors import DataError, SettingError
from probe.experiments.quantum.folder_run import run_in_folder
from probe.experiments.quantum.values import check_seed, names, normalize
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study

TSNE_MAX_ROWS = 3000
"""Embeddings with more rows get no t-SNE map (it costs O(n log n) per iteration and says little more)."""


@dataclass(frozen=True, slots=True)
class OverlapSettings(Settings):
    """Which embeddings, how overlap is measured, and the SupCon head."""

    experiment: ClassVar[str] = "quantum-overlap"

    embeddings: str | None = None
    """Embeddings .npy, shape (n, d)."""
    labels: str | None = None
    """Labels .npy, shape (n,)."""
    demo: bool = False
    """Use the generated long-tail topic sentences embedded with MiniLM instead."""
    head: tuple[str, ...] | None = None
    """Head classes (default: by count)."""
    tail_fraction: float = 0.25
    """Tail = count < this x the largest."""
    k: int = 10
    """Neighbours for the kNN mixing rate."""
    metric: str = "cosine"
    supcon: bool = False
    """Train a SupCon projection head and re-measure held out."""
    repeats: int = 5
    test_size: float = 0.3
    dim: int = 32
    hidden: int = 256
    epochs: int = 200
    lr: float = 1e-3
    temperature: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        normalize(self, {"head": lambda v: names(v, param="head")})
        for name in ("embeddings", "labels"):
            if isinstance(getattr(self, name), Path):
                object.__setattr__(self, name, str(getattr(self, name)))

    @property
    def overlap_kwargs(self) -> dict[str, Any]:
        return {"k_neighbors": self.k, "metric": self.metric, "tail_fraction": self.tail_fraction}

    def validate(self) -> None:
        check_seed(self.seed)
        if self.metric not in ("euclidean", "cosine"):
            raise SettingError("metric", self.metric, "use euclidean or cosine")
        if self.k < 1:
            raise SettingError("k", self.k, "must be >= 1")
        if not 0 < self.tail_fraction < 1:
            raise SettingError("tail_fraction", self.tail_fraction, "must lie in (0, 1)")
        if self.supcon:
            if self.repeats < 1:
                raise SettingError("repeats", self.repeats, "must be >= 1")
            if not 0 < self.test_size < 1:
                raise SettingError("test_size", self.test_size, "must lie in (0, 1)")
            for name in ("dim", "hidden", "epochs"):
                if getattr(self, name) < 1:
                    raise SettingError(name, getattr(self, name), "must be >= 1")
            for name in ("lr", "temperature"):
                if not getattr(self, name) > 0:
                    raise SettingError(name, getattr(self, name), "must be > 0")
        if self.demo:
            return
        if not self.embeddings or not self.labels:
            raise SettingError("embeddings", self.embeddings, "overlap needs embeddings and labels (.npy files)",
                               hint="or use the demo set (demo=True, --demo)")
        for name in ("embeddings", "labels"):
            if not Path(str(getattr(self, name))).exists():
                raise SettingError(name, getattr(self, name), "no such file")

    def load(self) -> tuple[Any, Any, dict[str, Any]]:
        """Embeddings (n, d), labels (n,) and a description of the data."""
        import numpy as np

        if self.demo:
            from probe.qml.datasets import long_tail_topics, minilm_embeddings

            texts, labels = long_tail_topics(seed=self.seed)
            return minilm_embeddings(texts), np.asarray(labels), {
                "name": "long-tail topics (MiniLM)", "source": "probe.qml.datasets.long_tail_topics embedded with "
                "all-MiniLM-L6-v2 (384-d, unit norm)", "n_texts": len(texts)}
        arrays = []
        for p in (self.embeddings, self.labels):
            try:
                arrays.append(np.load(str(p), allow_pickle=False))
            except (OSError, ValueError) as exc:
                raise DataError(f"{p}: not a readable .npy array ({exc})",
                                hint="save with numpy.save; string labels as a unicode array") from exc
        return arrays[0], arrays[1], {"name": Path(str(self.embeddings)).stem, "source": str(self.embeddings)}


def embedding_map(x: Any, labels: Any, *, seed: int) -> dict[str, Any] | None:
    """A 2-D t-SNE map of the embeddings (points rounded to 4 decimals), or None above TSNE_MAX_ROWS rows."""
    import numpy as np
    from sklearn.manifold import TSNE

    if len(labels) > TSNE_MAX_ROWS:
        return None
    pts = TSNE(n_components=2, random_state=seed, init="pca",
               perplexity=min(30.0, (len(labels) - 1) / 3)).fit_transform(np.asarray(x, dtype=np.float64))
    return {"method": "t-SNE", "points": pts.round(4).tolist(), "labels": [str(v) for v in labels]}


def supcon_block(settings: OverlapSettings, x: Any, y: Any, head: list[str]) -> dict[str, Any]:
    """Train the SupCon heads and summarise held-out overlap before/after (mean, SD over repeats)."""
    import numpy as np

    from probe.analysis.supcon import supcon_study

    study = supcon_study(x, y, repeats=settings.repeats, test_size=settings.test_size, seed=settings.seed, head=head,
                         overlap_kwargs=settings.overlap_kwargs, dim=settings.dim, hidden=settings.hidden,
                         epochs=settings.epochs, lr=settings.lr, temperature=settings.temperature)

    def stats(values: list[float]) -> dict[str, Any]:
        return {"mean": float(np.mean(values)),
                "sd": float(np.std(values, ddof=1)) if settings.repeats > 1 else None, "values": values}

    return {"dim": settings.dim, "hidden": settings.hidden, "epochs": settings.epochs, "lr": settings.lr,
            "temperature": settings.temperature, "repeats": settings.repeats, "test_size": settings.test_size,
            "seeds": list(study.seeds), "final_losses": list(study.final_losses),
            "held_out_before": {k: stats(v) for k, v in study.before.items()},
            "held_out_after": {k: stats(v) for k, v in study.after.items()},
            "tests": study.tests, "example_after": study.example_after.to_dict()}


@dataclass(frozen=True)
class OverlapResult(Result):
    """``r.tail_head`` (the four tail→head measures on all data), ``r.to_frame()`` (one row per measure,
    with held-out before/after mean ± SD when the SupCon head was trained)."""

    experiment: ClassVar[str] = "quantum-overlap"
    settings_type: ClassVar[type] = OverlapSettings

    @property
    def before(self) -> dict[str, Any]:
        return dict(self.result["before"])

    @property
    def tail_head(self) -> dict[str, float]:
        return dict(self.result["before"]["tail_head"])

    @property
    def supcon(self) -> dict[str, Any] | None:
        return self.result.get("supcon")

    def to_frame(self) -> Any:
        import pandas as pd

        th = self.tail_head
        rows = []
        for key in ("bhattacharyya", "knn", "subspace", "silhouette_tail"):
            row: dict[str, Any] = {"measure": key, "all_data": th.get(key)}
            s = self.supcon
            if s:
                for side in ("before", "after"):
                    block = s[f"held_out_{side}"].get(key) or {}
                    row[f"held_out_{side}"], row[f"held_out_{side}_sd"] = block.get("mean"), block.get("sd")
                row["p_value"] = (s["tests"].get(key) or {}).get("p_value")
            rows.append(row)
        return pd.DataFrame(rows)


def plan(settings: OverlapSettings, how: How | None = None) -> Plan:
    settings.validate()
    (how or How()).validate()
    what = "the demo set" if settings.demo else str(settings.embeddings)
    head = f", then {settings.repeats} SupCon heads" if settings.supcon else ""
    return Plan(OverlapSettings.experiment, f"class overlap of {what}{head}", items=1 + settings.repeats * settings.supcon)


def run(settings: OverlapSettings, how: How | None = None) -> OverlapResult:
    """Measure overlap (and train the heads) and write the run folder."""
    from probe.analysis.overlap import class_overlap

    how = how or How()
    settings.validate()
    how.validate()

    def compute(_items: Any) -> dict[str, Any]:
        x, y, data = settings.load()
        # validates shapes and labels; the folder appears only with result.json, so bad data leaves none
        before = class_overlap(x, y, head=list(settings.head) if settings.head else None, **settings.overlap_kwargs)
        out: dict[str, Any] = {"data": data, "before": before.to_dict()}
        if settings.supcon:
            with Progress("SupCon heads", total=None, enabled=how.progress):
                out["supcon"] = supcon_block(settings, x, y, list(before.head))
        emb = embedding_map(x, y, seed=settings.seed)
        if emb is not None:
            out["embedding_2d"] = emb
        return out

    name = "long-tail-topics" if settings.demo else Path(str(settings.embeddings)).stem
    return run_in_folder(settings, how, name=name, result_type=OverlapResult, compute=compute)


STUDY = Study(OverlapSettings.experiment, OverlapSettings, OverlapResult, plan, run,
              summary="latent class overlap, head vs tail, and a SupCon head that reduces it")

__all__ = ["STUDY", "TSNE_MAX_ROWS", "OverlapResult", "OverlapSettings", "embedding_map", "plan", "run"]
