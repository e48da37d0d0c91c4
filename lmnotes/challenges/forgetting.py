"""Continual learning: a tiny GPT trained on one domain, then fine-tuned on another, with and without replay.

Read top to bottom:

* :func:`domain_accuracy` — the share of held-out questions whose most likely next word is the answer;
* :func:`domain_eval` — an ``eval_fn`` that scores several domains at once, for a history to plot;
* :func:`replay_counts`, :func:`replay_batches` — batches of the new domain's text with a fixed share of rows
  replayed from the old domain's;
* :func:`fine_tune` — continue training a copy of a model on new text (optionally with replay), logging the
  evaluation every few steps on the same step axis as the first training;
* :func:`forgetting` — the drop from the best accuracy reached earlier to the last one (Chaudhry et al., 2018).

Example::

    from lmnotes.challenges import train_tiny_gpt
    from lmnotes.challenges.forgetting import domain_eval, fine_tune, forgetting
    from lmnotes.data.challenges.forgetting import two_domains
    data = two_domains(seed=0)
    evaluate = domain_eval({"A": data["A"]["test"], "B": data["B"]["test"]})
    model, tok, h_a = train_tiny_gpt(data["A"]["train"], vocab_texts=data["B"]["train"], eval_fn=evaluate,
                                     eval_every=100)
    tuned, h = fine_tune(model, tok, data["B"]["train"], history=h_a, eval_fn=evaluate, eval_every=50)
    forgetting(h["eval_acc_A"])
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch

from ..recipes.gpt import lm_stream
from ..train import History, fit
from . import TINY_GPT, _check_texts, answer_report

__all__ = ["domain_accuracy", "domain_eval", "replay_counts", "replay_batches", "fine_tune", "forgetting"]


def _check_rows(name, rows):
    if isinstance(rows, (str, dict)):
        raise TypeError(
            f"{name} must be a list of questions {{'prompt', 'answer'}}, got one {type(rows).__name__}"
        )
    rows = list(rows)
    if not rows:
        raise ValueError(f"{name} is empty: there is nothing to evaluate")
    if not all(isinstance(r, dict) and "prompt" in r and "answer" in r for r in rows):
        raise ValueError(f"each question of {name} must be a dict with 'prompt' and 'answer'")
    return rows


def domain_accuracy(model, tok, rows: Sequence[dict]) -> float:
    """The share of ``rows`` (``{"prompt", "answer"}``) whose most likely next word after ``[BOS] prompt`` is the
    answer.

    Example: ``domain_accuracy(model, tok, [{"prompt": "the old robin is a kind of", "answer": "bird"}])`` → 1.0
    """
    rows = _check_rows("rows", rows)
    report = answer_report(model, tok, [r["prompt"] for r in rows], [r["answer"] for r in rows])
    return sum(report["correct"]) / len(rows)


def domain_eval(domains: dict):
    """``eval_fn(model, tok) -> {"acc_" + name: accuracy}`` for every named set of held-out questions, to pass to
    :func:`~lmnotes.challenges.train_tiny_gpt` or :func:`fine_tune` (logged as ``"eval_acc_" + name``).

    Example: ``domain_eval({"A": data["A"]["test"], "B": data["B"]["test"]})(model, tok)`` → ``{"acc_A": ..,
    "acc_B": ..}``
    """
    if not isinstance(domains, dict) or not domains:
        raise TypeError("domains must be a non-empty dict {name: questions}, e.g. {'A': data['A']['test']}")
    checked = {}
    for name, rows in domains.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"domain names must be non-empty strings, got {name!r}")
        checked[name] = _check_rows(f"domains[{name!r}]", rows)

    def evaluate(model, tok) -> dict[str, float]:
        return {f"acc_{name}": domain_accuracy(model, tok, rows) for name, rows in checked.items()}

    return evaluate


def replay_counts(steps: int, batch_size: int, share: float) -> list[int]:
    """How many of each batch's ``batch_size`` rows are replayed old data, for ``steps`` batches, so that the share
    is ``share`` overall: ``floor((s + 1) * share * batch_size) - floor(s * share * batch_size)`` at step ``s``
    (the remainder carries over; no batch is off by more than one row).

    Example: ``replay_counts(4, 32, 0.05)`` → ``[1, 2, 1, 2]`` (6 rows of 128, 4.7 %; 6.4 rows is 5 %)
    """
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be a number in [0, 1] (the fraction of rows replayed), got {share!r}")
    per = share * batch_size
    # a small epsilon so that 0.1 * 30 = 3.0000000000000004 does not count as 3 rows on one step and 2 on another
    return [math.floor((s + 1) * per + 1e-9) - math.floor(s * per + 1e-9) for s in range(steps)]


def _windows(stream, block_size, n, g):
    if n == 0:
        return torch.zeros((0, block_size + 1), dtype=torch.long)
    starts = torch.randint(0, len(stream) - block_size - 1, (n,), generator=g)
    return stream[starts[:, None] + torch.arange(block_size + 1)]  # (n, T + 1)


def replay_batches(
    new_stream: torch.Tensor,
    old_stream: torch.Tensor | None,
    block_size: int,
    batch_size: int,
    share: float = 0.0,
    seed: int = 0,
    first_step: int = 0,
):
    """``get_batch(step) -> (inputs (B, T), targets (B, T))``: random windows of ``new_stream``, with
    ``replay_counts`` rows of each batch drawn from ``old_stream`` instead (the share ``share`` of all rows).
    Reproducible by ``seed``. ``first_step`` is the step the counts start from (``fit`` continuing a history
    asks for steps ``first_step, first_step + 1, ...``).

    Example: ``fit(model, replay_batches(new_ids, old_ids, 16, 32, share=0.1), steps=300)``
    """
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    replay_counts(1, batch_size, share)  # checks share
    streams = (
        {"new_stream": new_stream} if share == 0 else {"new_stream": new_stream, "old_stream": old_stream}
    )
    for name, stream in streams.items():
        if stream is None:
            raise ValueError(
                f"share={share} replays old data, so old_stream is needed (lm_stream(old_texts, tok))"
            )
        if not torch.is_tensor(stream) or stream.dim() != 1:
            raise TypeError(f"{name} must be a 1-D tensor of token ids (see lmnotes.recipes.gpt.lm_stream)")
        if len(stream) < block_size + 2:
            raise ValueError(f"{name} has {len(stream)} tokens; windows of block_size={block_size} need more")
    per = share * batch_size

    def get_batch(step: int):
        s = step - first_step
        n_old = math.floor((s + 1) * per + 1e-9) - math.floor(s * per + 1e-9) if share else 0
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        rows = torch.cat(
            [
                _windows(new_stream, block_size, batch_size - n_old, g),
                _windows(old_stream, block_size, n_old, g),
            ]
        )  # (B, T + 1): new rows first; the order of rows in a batch does not matter to the loss
        return rows[:, :-1], rows[:, 1:]

    return get_batch


def fine_tune(
    model,
    tok,
    texts: Sequence[str],
    replay_texts: Sequence[str] = (),
    replay_share: float = 0.0,
    seed: int = 0,
    history: History | None = None,
    eval_fn=None,
    eval_every: int | None = None,
    device=None,
    progress: bool = False,
    steps: int = TINY_GPT["steps"],
    batch_size: int = TINY_GPT["batch_size"],
    lr: float = TINY_GPT["lr"],
):
    """Continue training a **copy** of ``model`` (the original is left as it is) on ``texts`` with a fresh
    optimizer and schedule, as fine-tuning does; with ``replay_share > 0`` that share of each batch's rows is drawn
    from ``replay_texts`` (the old domain's text: experience replay).

    ``history``: a copy of it is continued, so steps count on from the first training and one plot shows both.
    ``eval_fn(model, tok) -> {name: float}`` runs every ``eval_every`` steps and at the end. Returns
    ``(model, history)``, the model in eval mode.

    Example: ``tuned, h = fine_tune(model, tok, data["B"]["train"], data["A"]["train"], replay_share=0.1)``
    """
    texts = _check_texts("texts", texts)
    if replay_share and not replay_texts:
        raise ValueError(
            f"replay_share={replay_share} but replay_texts is empty: give the old domain's texts"
        )
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be an lmnotes.train.History (or None), got {type(history).__name__}")
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(
            f"eval_fn must be a function (model, tokenizer) -> dict, got {type(eval_fn).__name__}"
        )
    unknown = [t for t in texts if tok.unk_id in tok.encode(t)]
    if unknown:
        raise ValueError(
            f"{len(unknown)} texts hold words the tokenizer does not know (first: {unknown[0]!r}); build it with "
            "them, e.g. train_tiny_gpt(..., vocab_texts=new_texts)"
        )
    tuned = copy.deepcopy(model).train()
    old = lm_stream(_check_texts("replay_texts", replay_texts), tok) if replay_share else None
    history = History(history.records) if history is not None else History()
    start = history.step
    batches = replay_batches(
        lm_stream(texts, tok),
        old,
        tuned.config.block_size,
        batch_size,
        replay_share,
        seed=seed,
        first_step=start,
    )
    history = fit(
        tuned,
        batches,
        steps=steps,
        lr=lr,
        device=device,
        progress=progress,
        warmup=0.05,
        eval_fn=(lambda m: eval_fn(m, tok)) if eval_fn is not None else None,
        eval_every=eval_every,
        history=history,
    )
    return tuned.eval(), history


def forgetting(accuracies: Sequence[float]) -> float:
    """How much was forgotten: the best accuracy reached before the last one, minus the last one (Chaudhry et al.,
    2018). 0 when nothing was lost; negative when the last accuracy is a new best (the domain improved).

    Example: ``forgetting([0.2, 0.9, 0.8, 0.3])`` → 0.6
    """
    if isinstance(accuracies, (str, bytes)) or not isinstance(accuracies, Sequence):
        raise TypeError("accuracies must be a list of numbers, the accuracy at each evaluation in order")
    values = list(accuracies)
    if len(values) < 2:
        raise ValueError(
            f"forgetting needs at least two accuracies (an earlier one and the last), got {len(values)}"
        )
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError(f"accuracies must be finite numbers, got {values!r}")
    return max(values[:-1]) - values[-1]
