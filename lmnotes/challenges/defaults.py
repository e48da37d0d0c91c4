"""Does a model over-apply a default to an exception? Reading a tiny GPT's answer to a held-out question.

A model trained on :func:`lmnotes.data.challenges.defaults.defaults_corpus` is asked ``can a kalo fly ?`` without
ever having read a question: it answers by which of the two statements, ``a kalo can fly .`` or ``a kalo cannot fly
.``, it finds more likely (a minimal pair, as CrowS-Pairs scores a masked model). The measures:

* :func:`default_margins` — log p(the default statement) − log p(the other one), per item;
* :func:`answers` — the model's answer, ``yes`` or ``no``, per item;
* :func:`default_rates` — how often the model gives the category's default, per role (exception or control) and
  per count (how often the fact was stated);
* :func:`train_defaults_gpt` — one tiny GPT on the corpus, through :func:`lmnotes.challenges.train_tiny_gpt`.

Example::

    from lmnotes.challenges import defaults
    from lmnotes.data.challenges.defaults import defaults_corpus
    data = defaults_corpus(seed=0)
    model, tok, history = defaults.train_defaults_gpt(data, seed=0)
    defaults.default_rates(data["items"], defaults.answers(model, tok, data["items"]))
"""

from __future__ import annotations

from collections.abc import Sequence

from . import token_log_probs, train_tiny_gpt

__all__ = ["default_margins", "answers", "default_rates", "train_defaults_gpt"]

_ITEM_KEYS = ("default_text", "other_text", "default_answer", "role", "count")


def _check_items(items) -> list[dict]:
    if isinstance(items, dict):
        raise TypeError("items must be a list of items; pass data['items'], not the whole corpus dict")
    items = list(items)
    if not items:
        raise ValueError("items is empty: there is nothing to measure")
    for it in items:
        if not isinstance(it, dict) or any(k not in it for k in _ITEM_KEYS):
            raise ValueError(
                f"each item must be a dict with {list(_ITEM_KEYS)}, as defaults_corpus(...)['items'] gives them"
            )
    return items


def default_margins(model, tok, items: Sequence[dict]) -> list[float]:
    """For each item, ``log p(default_text) - log p(other_text)`` under the model (nats, whole sentences after
    ``[BOS]``). Positive: the model prefers the category's default; negative: it prefers the exception.

    Example: ``default_margins(model, tok, data["items"])[0]``
    """
    items = _check_items(items)
    lp = token_log_probs(
        model, tok, [it["default_text"] for it in items] + [it["other_text"] for it in items]
    )
    n = len(items)
    return [float(lp[i].sum() - lp[n + i].sum()) for i in range(n)]


def answers(model, tok, items: Sequence[dict]) -> list[str]:
    """The model's answer to each item's question, ``"yes"`` or ``"no"``: the default answer when it finds the
    default statement more likely, the other answer otherwise.

    Example: ``answers(model, tok, data["items"])[:3]`` → ``["yes", "yes", "no"]``
    """
    items = _check_items(items)
    flip = {"yes": "no", "no": "yes"}
    return [
        it["default_answer"] if m > 0 else flip[it["default_answer"]]
        for it, m in zip(items, default_margins(model, tok, items))
    ]


def default_rates(items: Sequence[dict], given: Sequence[str]) -> dict[tuple[str, int], float]:
    """The share of answers that are the category's default, per ``(role, count)``.

    ``given`` holds one answer (``"yes"``/``"no"``) per item. For exceptions the default is the wrong answer (the
    default over-applied); for controls it is the right one.
    Example: ``default_rates(items, answers(model, tok, items))[("exception", 1)]`` → 0.83
    """
    items = _check_items(items)
    if isinstance(given, str):
        raise TypeError("given must be a list of answers, one per item, not one string")
    given = list(given)
    if len(given) != len(items):
        raise ValueError(f"{len(items)} items but {len(given)} answers; give one answer per item")
    bad = sorted({a for a in given if a not in ("yes", "no")}, key=str)
    if bad:
        raise ValueError(f"answers must be 'yes' or 'no', got {bad}")
    groups: dict[tuple[str, int], list[bool]] = {}
    for it, a in zip(items, given):
        groups.setdefault((it["role"], it["count"]), []).append(a == it["default_answer"])
    return {key: sum(v) / len(v) for key, v in sorted(groups.items())}


def train_defaults_gpt(data: dict, seed: int = 0, device=None, progress: bool = False, **config):
    """A tiny GPT trained on ``data["texts"]`` of :func:`~lmnotes.data.challenges.defaults.defaults_corpus`, with
    every measured sentence's words in its vocabulary (an exception stated 0 times is still a known word).
    ``config`` overrides :data:`lmnotes.challenges.TINY_GPT`. Returns ``(model, tokenizer, history)``.

    Example: ``model, tok, history = train_defaults_gpt(defaults_corpus(seed=0), seed=0, steps=800)``
    """
    if not isinstance(data, dict) or "texts" not in data or "items" not in data:
        raise TypeError("data must be the dict defaults_corpus(...) returns, with 'texts' and 'items'")
    items = _check_items(data["items"])
    vocab = [it["default_text"] + " " + it["other_text"] for it in items]
    return train_tiny_gpt(
        data["texts"], seed=seed, vocab_texts=vocab, device=device, progress=progress, **config
    )
