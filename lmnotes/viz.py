"""The plots the book reuses, in one house style.

    from lmnotes import viz
    viz.plot_curves(history)                      # loss vs step, train solid, eval dashed
    viz.plot_bars({"layer 0": 0.61, "layer 1": 0.83}, baseline=0.25)
    viz.plot_heatmap(attn, tokens, tokens)        # an attention map
    viz.plot_embedding_2d(vectors, labels)        # PCA of word vectors
    viz.plot_lines(sizes, {"loss": losses})       # a sweep

Every function draws on `ax` (a new figure when None) and returns the Axes, so plots can
be combined in subplots. Importing this module applies the style (`use_style`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

__all__ = [
    "PALETTE",
    "use_style",
    "plot_curves",
    "plot_bars",
    "plot_heatmap",
    "plot_embedding_2d",
    "plot_lines",
    "pca_2d",
    "smooth_ema",
    "trailing_mean",
]

# Colour-blind-safe (Okabe-Ito, without black); the first colour is "the" colour of a plot.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]


def use_style() -> None:
    """Apply the house style: seaborn "whitegrid" theme, "notebook" context, PALETTE.

    Idempotent (it resets the theme each time); called when lmnotes.viz is imported.
    Example: `lmnotes.viz.use_style()` after something else changed matplotlib's rcParams.
    """
    sns.set_theme(
        style="whitegrid",
        context="notebook",
        palette=PALETTE,
        rc={
            "figure.figsize": (6.4, 4.0),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        },
    )


use_style()


def _ax(ax):
    return plt.subplots()[1] if ax is None else ax


def _numpy(x) -> np.ndarray:
    if torch.is_tensor(x):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def smooth_ema(values: Sequence[float], smooth: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws it).

    smooth in [0, 1): 0 returns the values unchanged, 0.9 averages over ~10 points.
    Example: `smooth_ema([1, 0, 1, 0], 0.5)`.
    """
    if not 0 <= smooth < 1:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    values = _numpy(values)
    out, avg = np.empty_like(values), 0.0
    for i, v in enumerate(values):
        avg = smooth * avg + (1 - smooth) * v
        out[i] = avg / (1 - smooth ** (i + 1))
    return out


def trailing_mean(values: Sequence[float], k: int = 5) -> list[float]:
    """The mean of each value and the ``k - 1`` before it (fewer at the start): a noisy curve, smoothed
    without looking ahead. Example: ``trailing_mean([1, 3, 5, 7], k=2)  # [1.0, 2.0, 4.0, 6.0]``
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (how many values each mean covers), got {k!r}")
    values = list(values)
    return [
        sum(values[max(0, i - k + 1) : i + 1]) / len(values[max(0, i - k + 1) : i + 1])
        for i in range(len(values))
    ]


def _curves(history_or_dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{key: (steps, values)} from a History, {key: values} or {key: (steps, values)}."""
    if hasattr(history_or_dict, "curves"):
        raw = history_or_dict.curves()
    elif isinstance(history_or_dict, Mapping):
        raw = {}
        for k, v in history_or_dict.items():
            if isinstance(v, tuple) and len(v) == 2:
                raw[k] = v
            else:
                raw[k] = (np.arange(1, len(v) + 1), v)
    else:
        raise TypeError(
            f"plot_curves needs a History or a dict of name -> values, got {type(history_or_dict).__name__}"
        )
    return {k: (_numpy(s), _numpy(v)) for k, (s, v) in raw.items()}


def plot_curves(
    history_or_dict, names=None, ax=None, smooth: float = 0.0, logy: bool = False, title: str | None = None
):
    """Metrics against step: train curves solid, eval curves ("eval_" + name) dashed with dots.

    history_or_dict: a `lmnotes.train.History`, {name: values} (steps 1, 2, ...) or
        {name: (steps, values)}; keys starting with "eval_" are eval curves.
    names: a name or list of names (without "eval_"); default "loss" when present, else all
        but lr and grad_norm. A name draws its train and its eval curve, in one colour.
    smooth: EMA smoothing of train curves in [0, 1); the raw curve stays faintly behind.
    Example: `plot_curves({"loss": [3, 2, 1.5], "eval_loss": ([3], [1.8])})`
    """
    curves = _curves(history_or_dict)
    base = list(dict.fromkeys(k[len("eval_") :] if k.startswith("eval_") else k for k in curves))
    if names is None:
        names = ["loss"] if "loss" in base else [n for n in base if n not in ("lr", "grad_norm")]
    elif isinstance(names, str):
        names = [names]
    missing = [n for n in names if n not in base]
    if missing:
        raise KeyError(f"no curve named {missing[0]!r}; the curves are {base}")
    ax = _ax(ax)
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        both = name in curves and f"eval_{name}" in curves
        if name in curves:
            steps, values = curves[name]
            if smooth > 0:
                ax.plot(steps, values, color=color, alpha=0.25, linewidth=1)
                values = smooth_ema(values, smooth)
            ax.plot(steps, values, color=color, label=f"{name} (train)" if both else name)
        if f"eval_{name}" in curves:
            steps, values = curves[f"eval_{name}"]
            ax.plot(
                steps, values, color=color, linestyle="--", marker="o", markersize=4, label=f"{name} (eval)"
            )
    ax.set_xlabel("step")
    ax.set_ylabel(names[0] if len(names) == 1 else "value")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len([line for line in ax.get_lines() if not line.get_label().startswith("_")]) > 1:
        ax.legend()
    return ax


def plot_bars(
    values: Mapping[str, float],
    ax=None,
    ylabel: str | None = None,
    ylim=None,
    baseline: float | None = None,
    baseline_label: str = "baseline",
    title: str | None = None,
):
    """One bar per entry, its value written on top; e.g. probe accuracy per layer.

    baseline: draws a dashed horizontal line (e.g. chance or majority-class accuracy).
    Example: `plot_bars({"layer 0": 0.61, "layer 1": 0.83}, ylabel="accuracy", ylim=(0, 1), baseline=0.25)`
    """
    if not values:
        raise ValueError("plot_bars needs at least one value; values is empty")
    ax = _ax(ax)
    labels = [str(k) for k in values]
    heights = [float(v) for v in values.values()]
    bars = ax.bar(labels, heights, color=PALETTE[0])
    ax.bar_label(bars, fmt="%.2f", padding=2)
    if baseline is not None:
        ax.axhline(float(baseline), color="0.4", linestyle="--", linewidth=1.5, label=baseline_label)
        ax.legend()
    if ylabel:
        ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", visible=False)
    return ax


def plot_heatmap(
    matrix,
    xlabels=None,
    ylabels=None,
    ax=None,
    title: str | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
):
    """A matrix as a heatmap, e.g. attention weights (T_query, T_key): rows are queries.

    matrix: (R, C) tensor or array; xlabels: C column labels (keys), ylabels: R row labels.
    Example: `plot_heatmap(attn[0, head], tokens, tokens, title="head 0")`
    """
    m = _numpy(matrix)
    if m.ndim != 2:
        raise ValueError(
            f"matrix must be 2-D (rows, columns), got shape {m.shape}; "
            "pick one batch element and head, e.g. attn[0, 0]"
        )
    for name, labels, n, what in (
        ("xlabels", xlabels, m.shape[1], "columns"),
        ("ylabels", ylabels, m.shape[0], "rows"),
    ):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} entries but the matrix has {n} {what}")
    ax = _ax(ax)
    im = ax.imshow(m, cmap=cmap, aspect="auto", interpolation="nearest")
    ax.grid(False)
    if xlabels is not None:
        ax.set_xticks(range(m.shape[1]), [str(s) for s in xlabels], rotation=90)
    if ylabels is not None:
        ax.set_yticks(range(m.shape[0]), [str(s) for s in ylabels])
    if colorbar:
        ax.figure.colorbar(im, ax=ax)
    if title:
        ax.set_title(title)
    return ax


def pca_2d(points) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, D) points on their first two principal components.

    Returns (coords (N, 2), explained variance ratio (2,)). Signs are fixed so that each
    component's largest loading is positive, so the picture does not flip between runs.
    Example: `xy, ratio = pca_2d(torch.randn(100, 16))`
    """
    x = torch.as_tensor(_numpy(points), dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"points must have shape (N, D) with N >= 2 and D >= 2, got {tuple(x.shape)}")
    x = x - x.mean(0)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)  # rows of vh: principal directions
    vh = vh[:2]
    signs = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))
    vh = vh * signs
    var = s**2
    ratio = (var[:2] / var.sum().clamp_min(1e-12)).numpy()
    return (x @ vh.T).numpy(), ratio


def plot_embedding_2d(
    points, labels=None, ax=None, method: str = "pca", texts=None, title: str | None = None
):
    """Scatter (N, D) vectors in 2-D (PCA), one colour per label; e.g. word vectors by sense.

    labels: N class labels (one colour and legend entry each) or None.
    texts: N strings written next to the points (e.g. the words), or None.
    Example: `plot_embedding_2d(vectors, ["bank/river", "bank/money", ...], texts=words)`
    """
    if method != "pca":
        raise ValueError(f'method must be "pca" (the only one lmnotes draws), got {method!r}')
    xy, ratio = pca_2d(points)
    n = xy.shape[0]
    for name, seq in (("labels", labels), ("texts", texts)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries but there are {n} points")
    ax = _ax(ax)
    labels = [None] * n if labels is None else [str(lab) for lab in labels]
    classes = list(dict.fromkeys(labels))
    colors = PALETTE if len(classes) <= len(PALETTE) else sns.color_palette("husl", len(classes))
    for c, cls in enumerate(classes):
        idx = [i for i, lab in enumerate(labels) if lab == cls]
        ax.scatter(xy[idx, 0], xy[idx, 1], color=colors[c], s=30, alpha=0.8, label=cls)
    if texts is not None:
        for (px, py), t in zip(xy, texts):
            ax.annotate(str(t), (px, py), xytext=(3, 3), textcoords="offset points", fontsize=8)
    ax.set_xlabel(f"PC 1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({ratio[1]:.0%} of variance)")
    if classes != [None] and len(classes) <= 12:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_lines(
    x,
    ys: Mapping[str, Sequence[float]],
    ax=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    marker: str = "o",
):
    """One line per entry of `ys` against shared `x`; for sweeps (loss vs size, acc vs lr).

    Example: `plot_lines([1, 2, 4], {"train": [2.1, 1.8, 1.6], "eval": [2.2, 2.0, 1.9]}, xlabel="layers")`
    """
    x = _numpy(x)
    if not ys:
        raise ValueError("ys is empty; pass {name: values}")
    ax = _ax(ax)
    for i, (name, y) in enumerate(ys.items()):
        y = _numpy(y)
        if len(y) != len(x):
            raise ValueError(f"ys[{name!r}] has {len(y)} values but x has {len(x)}")
        ax.plot(x, y, marker=marker, color=PALETTE[i % len(PALETTE)], label=str(name))
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if logx:  # a sweep's x values are few: label them plainly rather than as powers of ten
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.minorticks_off()
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(ys) > 1:
        ax.legend()
    return ax


def plot_learning_curves(
    curves: Mapping[str, Mapping[int, Sequence[float]]],
    ax=None,
    title: str | None = None,
    chance: float | None = None,
    highlight: Sequence[str] | None = None,
    xlabel: str = "labelled examples",
    ylabel: str = "test accuracy",
):
    """Accuracy against the number of labels, one line per method: the mean over draws, and a band from the
    lowest to the highest draw. ``curves``: ``{method: {budget: [accuracy of each draw]}}`` (as
    ``lmnotes.transfer.learning_curve`` returns for one method). ``highlight``: methods drawn bold (others
    thinner and dashed); ``chance``: a dotted line.
    Example: ``plot_learning_curves({"GPT": {8: [.7, .8], 64: [.9, .9]}, "scratch": {8: [.5, .6], 64: [.8, .9]}})``
    """
    if not curves:
        raise ValueError("curves is empty; pass {method: {budget: [accuracies]}}")
    ax = _ax(ax)
    for i, (name, curve) in enumerate(curves.items()):
        if not curve or any(len(v) == 0 for v in curve.values()):
            raise ValueError(f"curves[{name!r}] needs at least one accuracy at each budget")
        x = np.array(sorted(curve), dtype=float)
        runs = [np.asarray(curve[int(n)], dtype=float) for n in x]
        mean = np.array([r.mean() for r in runs])
        bold = highlight is None or name in highlight
        color = PALETTE[i % len(PALETTE)]
        ax.plot(
            x,
            mean,
            marker="o",
            color=color,
            label=str(name),
            linewidth=2.2 if bold else 1.2,
            linestyle="-" if bold else "--",
            alpha=1.0 if bold else 0.7,
            markersize=5 if bold else 3,
        )
        ax.fill_between(
            x,
            [r.min() for r in runs],
            [r.max() for r in runs],
            color=color,
            alpha=0.15 if bold else 0.07,
            linewidth=0,
        )
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1.2, label="chance")
    ax.set_xscale("log")
    ticks = sorted({int(n) for c in curves.values() for n in c})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
