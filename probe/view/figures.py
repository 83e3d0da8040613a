"""The study's forest plot, drawn with the reports' matplotlib helpers when the study folder has none.

A study report (issue 15) writes its own forest plot; the site shows that one. For a study
folder without figures, :func:`forest_svg` draws the main estimate of every cell with its
95% interval (the MOVER/posterior interval where the result has one, else ±1.96 SE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from probe.report.format import figure_bytes, new_figure
from probe.view.summary import RunSummary

TSIRELSON = 2 * math.sqrt(2)


def interval(s: RunSummary) -> tuple[float, float] | None:
    est = s.estimate
    if est is None or est.value is None:
        return None
    if est.ci:
        return est.ci
    if est.se is not None:
        return (est.value - 1.96 * est.se, est.value + 1.96 * est.se)
    return None


def forest_svg(cells: Sequence[RunSummary], *, title: str) -> bytes | None:
    """SVG bytes of a forest plot of the cells' main estimates (``None`` when no cell has one)."""
    rows = [c for c in cells if c.estimate is not None and c.estimate.value is not None]
    if not rows:
        return None
    fig, ax = new_figure(figsize=(7, 0.45 * len(rows) + 1.4))
    ys = list(range(len(rows)))[::-1]
    for y, c in zip(ys, rows, strict=True):
        assert c.estimate is not None and c.estimate.value is not None
        ci = interval(c)
        if ci:
            ax.errorbar([c.estimate.value], [y], xerr=[[c.estimate.value - ci[0]], [ci[1] - c.estimate.value]],
                        fmt="o", color="black", capsize=3)
        else:
            ax.plot([c.estimate.value], [y], "o", color="black")
    labels = {c.estimate.label for c in rows if c.estimate}
    if labels == {"S"}:
        ax.axvline(2, color="#c0504d", ls="--", lw=1, label="2 (local bound)")
        ax.axvline(TSIRELSON, color="#8064a2", ls=":", lw=1, label="2√2 (Tsirelson)")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yticks(ys, [c.rel.rsplit("/", 1)[-1] for c in rows], fontsize=7)
    ax.set_xlabel(", ".join(sorted(labels)) + " (95% interval)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    import matplotlib.pyplot as plt

    data = figure_bytes(fig, "svg")
    plt.close(fig)
    return data


__all__ = ["forest_svg", "interval"]
