"""Tests of lmnotes.viz: each plot returns its Axes with the right number of lines, bars,
images or point groups, headless (Agg), and refuses inputs of the wrong shape."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lmnotes import viz
from lmnotes.train import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_use_style_is_idempotent_and_sets_the_palette():
    viz.use_style()
    first = dict(plt.rcParams)
    viz.use_style()
    assert dict(plt.rcParams) == first
    colors = [matplotlib.colors.to_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
    assert colors[: len(viz.PALETTE)] == [c.lower() for c in viz.PALETTE]


def test_plot_curves_from_a_dict_train_and_eval():
    curves = {"loss": [3.0, 2.0, 1.5, 1.2], "eval_loss": ([2, 4], [2.5, 1.6]), "acc": [0.1, 0.5, 0.7, 0.8]}
    ax = viz.plot_curves(curves)  # default: loss only (train + eval)
    lines = ax.get_lines()
    assert isinstance(ax, matplotlib.axes.Axes) and len(lines) == 2
    train, evalu = lines
    assert list(train.get_xdata()) == [1, 2, 3, 4] and train.get_linestyle() == "-"
    assert list(evalu.get_xdata()) == [2, 4] and evalu.get_linestyle() == "--"
    assert train.get_color() == evalu.get_color()  # one colour per metric
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss (train)", "loss (eval)"]

    ax = viz.plot_curves(curves, names=["loss", "acc"], logy=True, title="t")
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log" and ax.get_title() == "t"
    with pytest.raises(KeyError, match="perplexity"):
        viz.plot_curves(curves, names="perplexity")


def test_plot_curves_smoothing_keeps_a_faint_raw_curve():
    ax = viz.plot_curves({"loss": [4.0, 0.0, 4.0, 0.0]}, smooth=0.5)
    raw, smoothed = ax.get_lines()
    assert list(raw.get_ydata()) == [4.0, 0.0, 4.0, 0.0] and raw.get_alpha() < 1
    assert np.ptp(smoothed.get_ydata()) < 4.0


def test_smooth_ema_is_bias_corrected():
    assert viz.smooth_ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    assert viz.smooth_ema([1.0, 3.0], 0.0) == pytest.approx([1.0, 3.0])
    with pytest.raises(ValueError, match="smooth"):
        viz.smooth_ema([1.0], 1.0)


def test_plot_curves_from_history_on_given_axes():
    h = History()
    for step in range(1, 11):
        h.log(step, "loss", 1 / step)
        h.log(step, "lr", 1e-3)
    h.log(10, "loss", 0.2, "eval")
    fig, (a, b) = plt.subplots(1, 2)
    ax = viz.plot_curves(h, ax=b)
    assert ax is b and len(b.get_lines()) == 2 and len(a.get_lines()) == 0


def test_plot_bars_with_baseline():
    acc = {"layer 0": 0.6, "layer 1": 0.8, "layer 2": torch.tensor(0.9)}
    ax = viz.plot_bars(acc, ylabel="accuracy", ylim=(0, 1), baseline=0.25, baseline_label="chance")
    assert len(ax.patches) == 3
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.6, 0.8, 0.9])
    (line,) = ax.get_lines()
    assert line.get_linestyle() == "--" and list(line.get_ydata()) == [0.25, 0.25]
    assert ax.get_ylim() == (0, 1) and ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 0", "layer 1", "layer 2"]
    assert len(viz.plot_bars({"a": 1.0}).get_lines()) == 0  # no baseline, no line
    with pytest.raises(ValueError, match="empty"):
        viz.plot_bars({})


def test_plot_heatmap_labels_and_shape_checks():
    attn = torch.softmax(torch.randn(3, 4), -1)
    ax = viz.plot_heatmap(attn, ["a", "b", "c", "d"], ["q1", "q2", "q3"], title="head 0")
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (3, 4)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q1", "q2", "q3"]
    with pytest.raises(ValueError, match="xlabels has 3 entries but the matrix has 4 columns"):
        viz.plot_heatmap(attn, ["a", "b", "c"], None)
    with pytest.raises(ValueError, match="2-D"):
        viz.plot_heatmap(torch.zeros(2, 3, 4))


def test_pca_finds_the_spread_direction():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(200, 1, generator=g)
    direction = torch.tensor([[0.0, 3.0, 4.0, 0.0]]) / 5
    points = t * 10 * direction + 0.1 * torch.randn(200, 4, generator=g)
    xy, ratio = viz.pca_2d(points)
    assert xy.shape == (200, 2) and ratio[0] > 0.95
    assert abs(np.corrcoef(xy[:, 0], t[:, 0].numpy())[0, 1]) > 0.99


def test_plot_embedding_2d_one_group_per_label():
    points = torch.randn(30, 8)
    labels = ["bank/river"] * 10 + ["bank/money"] * 10 + ["bat/animal"] * 10
    ax = viz.plot_embedding_2d(points, labels, texts=[f"w{i}" for i in range(30)])
    assert len(ax.collections) == 3
    assert sum(len(c.get_offsets()) for c in ax.collections) == 30
    assert len(ax.texts) == 30 and "PC 1" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["bank/river", "bank/money", "bat/animal"]
    assert len(viz.plot_embedding_2d(np.random.randn(5, 3)).collections) == 1
    with pytest.raises(ValueError, match="labels has 2 entries but there are 30 points"):
        viz.plot_embedding_2d(points, ["a", "b"])
    with pytest.raises(ValueError, match="method"):
        viz.plot_embedding_2d(points, labels, method="tsne")


def test_plot_lines_for_a_sweep():
    ax = viz.plot_lines(
        [1, 2, 4],
        {"train": [2.1, 1.8, 1.6], "eval": [2.2, 2.0, 1.9]},
        xlabel="layers",
        ylabel="loss",
        logx=True,
    )
    assert len(ax.get_lines()) == 2 and ax.get_xscale() == "log" and ax.get_xlabel() == "layers"
    assert list(ax.get_lines()[1].get_ydata()) == [2.2, 2.0, 1.9]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    with pytest.raises(ValueError, match=r"ys\['train'\] has 2 values but x has 3"):
        viz.plot_lines([1, 2, 3], {"train": [1.0, 2.0]})
