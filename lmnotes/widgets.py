"""ipywidgets explorers used by the notebooks. Each has a static matplotlib figure of its default state
(the website has no kernel to run a widget).
"""

from __future__ import annotations

from .analysis import contextual_vectors, nearest_neighbours
from .recipes.bert import fill_mask
from .utils import eval_mode

# ---------------------------------------------------------------------------------------------
# BERT: fill in the blank, and the attention viewer
# ---------------------------------------------------------------------------------------------


def fill_mask_figure(model, tokenizer, text: str = "a robin is a [MASK] .", k: int = 5, ax=None):
    """A bar chart of the top-``k`` predictions for the first ``[MASK]`` in ``text`` (the widget's static view).

    Example: ``fill_mask_figure(model, tok, "the [MASK] can swim .")``
    """
    from .viz import plot_bars

    top = fill_mask(model, tokenizer, text, k=k)[0]
    ax = plot_bars(
        {t.replace("\u2581", ""): p for t, p in top}, ax=ax, ylabel="probability", ylim=(0, 1.05), title=text
    )
    return ax


def fill_mask_widget(model, tokenizer, text: str = "a robin is a [MASK] .", k: int = 5):
    """Type a sentence with ``[MASK]`` and see the model's top-``k`` predictions with their probabilities.

    Example: ``fill_mask_widget(model, tok)``
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    box = W.Text(value=text, description="sentence", layout=W.Layout(width="90%"), continuous_update=False)
    out = W.Output()

    def show(*_):
        out.clear_output(wait=True)
        with out:
            try:
                for i, top in enumerate(fill_mask(model, tokenizer, box.value, k=k)):
                    words = "  ".join(f"{t.replace(chr(0x2581), '')} {p:.2f}" for t, p in top)
                    print(f"[MASK] {i + 1}: {words}")
                fig, ax = plt.subplots(figsize=(5, 2.5))
                fill_mask_figure(model, tokenizer, box.value, k=k, ax=ax)
                plt.show()
            except ValueError as e:
                print(e)

    box.observe(show, names="value")
    show()
    return W.VBox([box, out])


def attention_figure(model, tokenizer, sentence: str, layer: int = 0, head: int = 0, ax=None):
    """Heatmap of one head's attention weights (rows: queries, columns: keys) for ``[CLS] sentence [SEP]``.

    Example: ``attention_figure(model, tok, "the river was near the bank .", layer=1, head=2)``
    """
    import torch

    from .viz import plot_heatmap

    bert = getattr(model, "bert", model)
    cfg = bert.config
    if not 0 <= layer < cfg.n_layer:
        raise ValueError(f"layer must be in 0..{cfg.n_layer - 1}, got {layer}")
    if not 0 <= head < cfg.n_head:
        raise ValueError(f"head must be in 0..{cfg.n_head - 1}, got {head}")
    ids, seg = tokenizer.encode_pair(sentence)
    device = next(bert.parameters()).device
    with torch.no_grad(), eval_mode(bert):
        out = bert(
            torch.tensor([ids], device=device), torch.tensor([seg], device=device), output_attentions=True
        )
    tokens = [tokenizer.id_to_token(i).replace("\u2581", "") for i in ids]
    return plot_heatmap(
        out.attentions[layer][0, head].float().cpu(),
        tokens,
        tokens,
        ax=ax,
        title=f"layer {layer + 1}, head {head + 1}",
    )


def attention_viewer(model, tokenizer, sentences, layer: int = 0, head: int = 0):
    """Pick a layer, a head and a sentence; see where each token looks.

    Example: ``attention_viewer(model, tok, ["the river was near the bank ."])``
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    bert = getattr(model, "bert", model)
    sentences = list(sentences)
    w_layer = W.IntSlider(value=layer, min=0, max=bert.config.n_layer - 1, description="layer")
    w_head = W.IntSlider(value=head, min=0, max=bert.config.n_head - 1, description="head")
    w_sent = W.Dropdown(
        options=sentences, value=sentences[0], description="sentence", layout=W.Layout(width="90%")
    )
    out = W.Output()

    def show(*_):
        out.clear_output(wait=True)
        with out:
            fig, ax = plt.subplots(figsize=(5, 4.5))
            attention_figure(model, tokenizer, w_sent.value, w_layer.value, w_head.value, ax=ax)
            plt.show()

    for w in (w_layer, w_head, w_sent):
        w.observe(show, names="value")
    show()
    return W.VBox([W.HBox([w_layer, w_head]), w_sent, out])


# ---------------------------------------------------------------------------------------------
# ELMo: nearest neighbours of a word in each biLM layer
# ---------------------------------------------------------------------------------------------


def elmo_neighbours_widget(
    model,
    tokenizer,
    pool,
    pool_vectors=None,
    sentence: str = "the river bank was old .",
    index: int = 2,
    k: int = 4,
):
    """Type a sentence, pick a word: its ``k`` nearest occurrences in ``pool`` in each layer of an ELMo biLM.

    Example: ``elmo_neighbours_widget(model, tok, corpus(300)["test"]["text"])``
    """
    import ipywidgets as w

    pool = list(pool)
    pool_vectors = pool_vectors if pool_vectors is not None else contextual_vectors(model, tokenizer, pool)
    text = w.Text(value=sentence, description="sentence", layout=w.Layout(width="60%"))
    word = w.Dropdown(
        options=[(x, i) for i, x in enumerate(sentence.split())], value=index, description="word"
    )
    out = w.Output()

    def redraw(*_):
        out.clear_output()
        with out:
            try:
                rows = nearest_neighbours(
                    model, tokenizer, text.value, word.value, pool, k=k, pool_vectors=pool_vectors
                )
            except (ValueError, TypeError) as e:
                print(e)
                return
            for j, row in enumerate(rows):
                print(f"layer {j}:")
                for sim, t in row:
                    print(f"    {sim:.2f}  {t}")

    def new_sentence(*_):
        words = text.value.split()
        word.options = [(x, i) for i, x in enumerate(words)] or [("(empty)", 0)]
        word.value = min(word.value or 0, max(len(words) - 1, 0))
        redraw()

    text.observe(new_sentence, names="value")
    word.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([text, word]), out])


# ---------------------------------------------------------------------------------------------
# RLHF: samples along PPO training, for each β
# ---------------------------------------------------------------------------------------------


def _samples_at(samples: list[dict], iteration: int) -> tuple[int, list[dict]]:
    its = sorted({s["iteration"] for s in samples})
    if not its:
        raise ValueError("no samples were kept; run the trainer first")
    it = min(its, key=lambda i: abs(i - iteration))
    return it, [s for s in samples if s["iteration"] == it]


def ppo_samples_figure(samples_by_beta: dict, iteration: int | None = None, ax=None):
    """The widget's static view: for each β, the samples kept nearest to ``iteration`` (default: the last), with
    the learned score and the gold reward. ``samples_by_beta``: ``{label: trainer.samples}``.

    Example: ``ppo_samples_figure({"β=0": t0.samples, "β=0.2": t1.samples})``
    """
    import matplotlib.pyplot as plt

    if not samples_by_beta:
        raise ValueError("samples_by_beta is empty; pass {label: trainer.samples}")
    lines = []
    for label, samples in samples_by_beta.items():
        it, rows = _samples_at(
            samples, iteration if iteration is not None else max(s["iteration"] for s in samples)
        )
        lines.append((f"{label}, iteration {it}", True))
        lines += [(f"  score {s['score']:+.2f}  gold {s['gold']:+.2f}  {s['text']}", False) for s in rows]
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.28 * len(lines) + 0.3))
    ax.axis("off")
    for i, (text, bold) in enumerate(lines):
        ax.text(
            0,
            1 - (i + 0.5) / len(lines),
            text,
            family="monospace",
            fontsize=9,
            weight="bold" if bold else "normal",
            va="center",
            transform=ax.transAxes,
        )
    return ax


def ppo_samples_browser(samples_by_beta: dict):
    """Browse the samples kept along PPO training: pick β and slide through the iterations.

    Example: ``ppo_samples_browser({"β=0": t0.samples, "β=0.2": t1.samples})``
    """
    import html

    import ipywidgets as W

    if not samples_by_beta:
        raise ValueError("samples_by_beta is empty; pass {label: trainer.samples}")
    labels = list(samples_by_beta)
    beta = W.Dropdown(options=labels, value=labels[0], description="β")
    its = sorted({s["iteration"] for s in samples_by_beta[labels[0]]})
    slider = W.SelectionSlider(options=its, value=its[0], description="iteration", continuous_update=False)
    out = W.HTML()

    def show(*_):
        it, rows = _samples_at(samples_by_beta[beta.value], slider.value)
        body = "".join(
            f"<tr><td>{s['score']:+.2f}</td><td>{s['gold']:+.2f}</td><td>{html.escape(s['text'])}</td></tr>"
            for s in rows
        )
        out.value = (
            f"<b>{html.escape(beta.value)}, iteration {it}</b><table><tr><th>score</th><th>gold</th>"
            f"<th>sample</th></tr>{body}</table>"
        )

    beta.observe(show, names="value")
    slider.observe(show, names="value")
    show()
    return W.VBox([W.HBox([beta, slider]), out])


# ---------------------------------------------------------------------------------------------
# GPT: the next-token distribution under temperature, top-k and top-p
# ---------------------------------------------------------------------------------------------


def next_token_figure(
    model,
    tokenizer,
    prompt: str = "a robin",
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    n: int = 12,
    ax=None,
):
    """Bar chart of the next-word probabilities after ``[BOS] prompt`` under the sampling settings (the widget's
    static view). The bars are the ``n`` most likely words before filtering; a grey bar is one the filters removed.

    Example: ``next_token_figure(model, tok, "the film was", temperature=0.8, top_p=0.9)``
    """
    import matplotlib.pyplot as plt
    import torch

    device = next(model.parameters()).device
    ids = torch.tensor([[tokenizer.bos_id] + tokenizer.encode(prompt)], device=device)
    probs = model.next_token_probs(ids, temperature=temperature, top_k=top_k, top_p=top_p)[0].cpu()  # (V,)
    top = torch.topk(model.next_token_probs(ids)[0].cpu(), min(n, probs.numel())).indices  # fixed word order
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    heights = probs[top].numpy()
    bars = ax.bar(
        [tokenizer.id_to_token(int(i)) for i in top],
        heights,
        color=["C0" if h > 0 else "0.8" for h in heights],
    )
    ax.bar_label(bars, fmt="%.2f", padding=2)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("probability")
    ax.set_title(f"next word after “{prompt}” (temperature {temperature}, top-k {top_k}, top-p {top_p})")
    ax.tick_params(axis="x", rotation=45)
    ax.grid(axis="x", visible=False)
    return ax


def sampling_explorer(
    model, tokenizer, prompt: str = "a robin", max_new_tokens: int = 12, n_samples: int = 4, seed: int = 0
):
    """A prompt box and temperature / top-k / top-p sliders: the next-word probabilities as a bar chart
    (:func:`next_token_figure`) and ``n_samples`` continuations drawn with those settings.

    Example: ``sampling_explorer(model, tok, "the film was")``
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    import torch
    from IPython.display import display

    box = W.Text(value=prompt, description="prompt", continuous_update=False)
    temp = W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="temperature")
    k = W.IntSlider(value=0, min=0, max=50, description="top-k (0: off)")
    p = W.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p")
    out = W.Output()

    def show(*_):
        top_k = k.value or None
        top_p = p.value if p.value < 1.0 else None
        with out:
            out.clear_output(wait=True)
            next_token_figure(model, tokenizer, box.value, temp.value, top_k, top_p)
            plt.show()
            device = next(model.parameters()).device
            ids = torch.tensor([[tokenizer.bos_id] + tokenizer.encode(box.value)] * n_samples, device=device)
            gen = model.generate(
                ids,
                max_new_tokens,
                temperature=temp.value,
                top_k=top_k,
                top_p=top_p,
                stop_token=tokenizer.eos_id,
                generator=torch.Generator(device=device).manual_seed(seed),
            )
            for row in gen:
                print(tokenizer.decode(row.tolist(), skip_special_tokens=True))

    for w in (box, temp, k, p):
        w.observe(show, names="value")
    show()
    ui = W.VBox([box, temp, k, p, out])
    display(ui)
    return ui


# ---------------------------------------------------------------------------------------------
# Representation learning: frozen features against training from scratch, by task and label budget
# ---------------------------------------------------------------------------------------------


def transfer_figure(
    curves: dict, task: str, encoder: str, budget: int, baselines=("scratch", "bag of words"), ax=None
):
    """The learning curves of one task: ``encoder``'s frozen features against the ``baselines``, with the
    accuracies at ``budget`` labels in the title (the static view of :func:`transfer_explorer`).

    ``curves``: ``{task: {method: {budget: [accuracy of each draw]}}}``, as the chapter's notebook measures.
    Example: ``transfer_figure(curves, "taxonomy", "gpt-world", 6)``
    """
    from .viz import plot_learning_curves

    if task not in curves:
        raise ValueError(f"unknown task {task!r}; the curves have {list(curves)}")
    methods = curves[task]
    if encoder not in methods:
        raise ValueError(f"no curve for {encoder!r} on {task!r}; choose from {list(methods)}")
    if budget not in methods[encoder]:
        raise ValueError(
            f"{budget} labels was not measured for {task!r}; choose from {sorted(methods[encoder])}"
        )
    shown = {encoder: methods[encoder], **{b: methods[b] for b in baselines if b in methods and b != encoder}}
    ax = plot_learning_curves(shown, ax=ax, highlight=[encoder])
    ax.axvline(budget, color="0.5", linestyle="--", linewidth=1)
    at = ", ".join(f"{name} {sum(c[budget]) / len(c[budget]):.2f}" for name, c in shown.items())
    ax.set_title(f"{task}, {budget} labels: {at}", fontsize=10)
    ax.set_ylim(0, 1.05)
    return ax


def transfer_explorer(
    curves: dict,
    task: str | None = None,
    encoder: str | None = None,
    budget: int | None = None,
    baselines=("scratch", "bag of words"),
):
    """Pick a task, an encoder and a label budget: the accuracy of a linear probe on the encoder's frozen
    features against the baselines trained on the same labels (a running kernel redraws the figure).

    Example: ``transfer_explorer(curves)`` with ``curves = {task: {method: {budget: [accuracies]}}}``
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    tasks = list(curves)
    task = task or tasks[0]
    encoders = lambda t: [m for m in curves[t] if m not in baselines]  # noqa: E731
    budgets = lambda t, e: sorted(curves[t][e])  # noqa: E731
    encoder = encoder or encoders(task)[0]
    budget = budget or budgets(task, encoder)[0]
    w_task = W.Dropdown(options=tasks, value=task, description="task")
    w_enc = W.Dropdown(options=encoders(task), value=encoder, description="encoder")
    w_budget = W.SelectionSlider(options=budgets(task, encoder), value=budget, description="labels")
    out = W.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7, 4))
            transfer_figure(curves, w_task.value, w_enc.value, w_budget.value, baselines, ax=ax)
            plt.show()

    def new_task(*_):
        enc = w_enc.value if w_enc.value in encoders(w_task.value) else encoders(w_task.value)[0]
        w_enc.options = encoders(w_task.value)
        w_enc.value = enc
        opts = budgets(w_task.value, enc)
        w_budget.options = opts
        w_budget.value = min(opts, key=lambda n: abs(n - w_budget.value)) if w_budget.value else opts[0]
        redraw()

    w_task.observe(new_task, names="value")
    w_enc.observe(redraw, names="value")
    w_budget.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([w_task, w_enc]), w_budget, out])
