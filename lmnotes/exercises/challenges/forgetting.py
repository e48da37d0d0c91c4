"""Exercises for the challenges chapter's forgetting notebook: a forgetting measure, a replay batch, and why
fine-tuning forgets."""

from __future__ import annotations

import random

from .. import Wrong, exercise, question


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@exercise(
    "forgetting_measure",
    hint="forgetting is the best accuracy reached at any evaluation before the last one, minus the last one; "
    "it is negative when the last accuracy is a new best",
)
def check_forgetting_measure(fn):
    cases = [
        ([0.2, 0.9, 1.0, 0.4, 0.1], 0.9),
        ([0.2, 1.0, 0.6, 0.7], 0.3),
        ([0.3, 0.5, 0.5], 0.0),
        ([0.1, 0.4, 0.9], -0.5),
        ([0.8, 0.2], 0.6),
    ]
    for accs, want in cases:
        got = fn(list(accs))
        if not _number(got):
            raise Wrong(f"return a number (a drop in accuracy), got {type(got).__name__}")
        if abs(got - want) <= 1e-9:
            continue
        if abs(got + want) <= 1e-9 and want != 0:
            raise Wrong(
                f"for {accs} you return {got:.2f}: the sign is flipped; forgetting is the best earlier accuracy "
                "minus the last one, positive when accuracy was lost"
            )
        if abs(got - (accs[0] - accs[-1])) <= 1e-9:
            raise Wrong(
                f"for {accs} you return {got:.2f}, the first accuracy minus the last; the first evaluation may come "
                "before the domain was learned: take the best accuracy before the last one"
            )
        if abs(got - (max(accs) - accs[-1])) <= 1e-9:
            raise Wrong(
                f"for {accs} you return {got:.2f}: your best includes the last evaluation, so forgetting can never "
                "be negative; take the best of the evaluations before the last (accs[:-1])"
            )
        if abs(got - (max(accs[:-1]) - min(accs))) <= 1e-9:
            raise Wrong(
                f"for {accs} you return {got:.2f}: compare with the LAST accuracy, not the lowest one; a domain "
                "that dipped and recovered has forgotten nothing in the end"
            )
        if abs(got - 100 * want) <= 1e-6:
            raise Wrong("the accuracies are shares in [0, 1]; return the drop as a share too, not in percent")
        raise Wrong(f"for accuracies {accs} the forgetting is {want:.2f}, yours is {got!r}")


@check_forgetting_measure.reference
def forgetting_measure(accuracies):
    return (
        max(accuracies[:-1]) - accuracies[-1]
    )  # best before the last, minus the last (Chaudhry et al., 2018)


@exercise(
    "replay_batch",
    hint="keep len(new_rows) rows in all: round(share * len(new_rows)) of them drawn at random from old_rows "
    "(rng.sample), the rest from new_rows",
)
def check_replay_batch(fn):
    new = [f"new {i}" for i in range(32)]
    old = [f"old {i}" for i in range(200)]
    seen_old = set()
    for share, want_old in ((0.05, 2), (0.1, 3), (0.25, 8), (0.0, 0), (1.0, 32)):
        for trial in range(3):
            got = fn(list(new), list(old), share, random.Random(100 * trial + want_old))
            if not isinstance(got, list):
                raise Wrong(f"return a list of rows, got {type(got).__name__}")
            if len(got) > len(new):
                raise Wrong(
                    f"with share={share} your batch has {len(got)} rows, more than the {len(new)} given: replay "
                    "replaces some new rows with old ones, it does not add rows (the batch size stays)"
                )
            if len(got) < len(new):
                raise Wrong(f"with share={share} your batch has {len(got)} rows; keep all {len(new)}")
            olds = [r for r in got if r in old]
            news = [r for r in got if r in new]
            if len(olds) + len(news) != len(got):
                raise Wrong("every row of the batch must be one of new_rows or one of old_rows")
            if len(olds) != want_old:
                if len(olds) == len(new) - want_old:
                    raise Wrong(
                        f"with share={share} your batch has {len(olds)} old rows: share is the share of OLD rows, "
                        f"so {want_old} of {len(new)}"
                    )
                if share == 0.05 and len(olds) == 1:
                    raise Wrong(
                        "0.05 * 32 = 1.6 old rows: round it to 2; int() cuts it to 1, which replays too little"
                    )
                raise Wrong(
                    f"with share={share} and {len(new)} rows, round(share * {len(new)}) = {want_old} rows should be "
                    f"old, yours has {len(olds)}"
                )
            if len(set(olds)) != len(olds):
                raise Wrong(
                    "the same old row appears twice in one batch: draw without replacement (rng.sample)"
                )
            if len(set(news)) != len(news):
                raise Wrong("a new row appears twice in one batch: keep each of the new rows you keep once")
            seen_old.update(olds)
    if len(seen_old) <= 32:
        raise Wrong(
            "your old rows are always the same few: draw them at random from old_rows with the rng you are given, "
            "so that replay covers the whole memory over many batches"
        )


@check_replay_batch.reference
def replay_batch(new_rows, old_rows, share, rng):
    n_old = round(share * len(new_rows))  # the batch size stays; n_old of its rows come from the old domain
    return new_rows[: len(new_rows) - n_old] + rng.sample(old_rows, n_old)


question(
    "why_forgetting",
    "b",
    "Both domains are answered by one network: the same embeddings of the frame's words, the same attention and "
    "the same output layer. Fine-tuning on people moves those weights wherever the people's loss says, and nothing "
    "in that loss asks them to keep answering `... is a kind of`. The control rules out (d): training on as many "
    "more steps of the animals' text kept them at 1.0. Replay rules out (c): a few percent of old rows kept both "
    "domains in the same network. And (a) is not it: no sentence about people mentions an animal.",
    choices={
        "a": "the people's sentences contradict the animals' facts, so the model unlearns them",
        "b": "the weights that answered the animals are shared, and the people's loss moves them with nothing to "
        "hold them in place",
        "c": "the network is too small to hold both domains",
        "d": "any long training run slowly wears away what a model learned first",
    },
    mistakes={
        "a": "read the two domains again: no sentence about a person mentions an animal or a kind",
        "c": "look at the replay run: the same network, with a few percent of old rows, holds both domains",
        "d": "look at the control: as many more steps on the animals' own text kept them at full accuracy",
    },
)
