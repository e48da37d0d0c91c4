"""Exercises of the BERT chapter: masking, segment ids, next-sentence pairs, the pretraining loss, the expected
layer of a probing curve; questions on the masking rates and on what pretraining buys sentiment."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from . import Wrong, exercise, question

CLS, SEP, PAD, MASK = 2, 3, 0, 4
SPECIALS = (0, 1, 2, 3, 4, 5, 6)


# ------------------------------------------------------------------ 1. mask_tokens


def _sample_batch(B=400, T=40, vocab=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(7, vocab, (B, T), generator=g)
    ids[:, 0] = CLS
    ids[:, T // 2] = SEP
    lengths = torch.randint(T // 2 + 2, T + 1, (B,), generator=g)
    for b, n in enumerate(lengths.tolist()):
        ids[b, n - 1] = SEP
        ids[b, n:] = PAD
    return ids


@exercise(
    "mask_tokens",
    hint="two random decisions per token: is it picked (15%, and never a special token), and "
    "if so, what becomes of it (80 / 10 / 10). The labels remember what stood at the picked positions.",
)
def check_mask_tokens(fn):
    vocab = 300
    ids = _sample_batch(vocab=vocab)
    before = ids.clone()
    out = fn(ids, mask_id=MASK, vocab_size=vocab, special_ids=SPECIALS)
    if not isinstance(out, tuple) or len(out) != 2:
        raise Wrong("return a pair (masked_ids, labels)")
    masked, labels = out
    if not torch.equal(ids, before):
        raise Wrong("your function changed input_ids in place; work on a copy (input_ids.clone())")
    if tuple(masked.shape) != tuple(ids.shape) or tuple(labels.shape) != tuple(ids.shape):
        raise Wrong(
            f"masked_ids and labels must have the shape of input_ids {tuple(ids.shape)}, got "
            f"{tuple(masked.shape)} and {tuple(labels.shape)}"
        )
    special = torch.isin(ids, torch.tensor(SPECIALS))
    for name, tid in (("[CLS]", CLS), ("[SEP]", SEP), ("[PAD]", PAD)):
        where = ids == tid
        if (labels[where] != -100).any() or not torch.equal(masked[where], ids[where]):
            raise Wrong(
                f"your mask picks {name}; special tokens and padding must never be masked or predicted"
            )
    picked = labels != -100
    if not picked.any():
        raise Wrong("no position has a label: labels must hold the original id at every picked position")
    if not torch.equal(labels[picked], ids[picked]):
        raise Wrong(
            "labels must hold the ORIGINAL token id at picked positions (not [MASK] or the replacement)"
        )
    if not torch.equal(masked[~picked], ids[~picked]):
        raise Wrong(
            "a position that was not picked changed; only picked positions may be replaced, and every "
            "replaced position needs its label (unpicked positions have label -100)"
        )
    rate = picked.float().sum() / (~special).float().sum()
    if abs(rate - 0.15) > 0.02:
        raise Wrong(
            f"you picked {rate:.1%} of the ordinary tokens; BERT picks 15% (of the non-special tokens)"
        )
    frac_mask = (masked[picked] == MASK).float().mean().item()
    frac_keep = (masked[picked] == ids[picked]).float().mean().item()
    frac_rand = 1 - frac_mask - frac_keep
    if abs(frac_mask - 0.8) > 0.03 or abs(frac_keep - 0.1) > 0.03 or abs(frac_rand - 0.1) > 0.03:
        raise Wrong(
            f"of the picked tokens you made {frac_mask:.0%} [MASK], {frac_rand:.0%} random and kept "
            f"{frac_keep:.0%}; BERT uses 80% / 10% / 10%"
        )
    rand = picked & (masked != MASK) & (masked != ids)
    if torch.isin(masked[rand], torch.tensor(SPECIALS)).any():
        raise Wrong("a random replacement was a special token; draw replacements among ordinary tokens only")
    if (masked < 0).any() or (masked >= vocab).any():
        raise Wrong(f"a replacement is outside the vocabulary 0..{vocab - 1}")


@check_mask_tokens.reference
def mask_tokens(input_ids, mask_id, vocab_size, special_ids):
    special = torch.isin(input_ids, torch.tensor(special_ids))
    picked = (torch.rand(input_ids.shape) < 0.15) & ~special
    labels = torch.where(picked, input_ids, torch.full_like(input_ids, -100))
    r = torch.rand(input_ids.shape)
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in special_ids])
    random_ids = ordinary[torch.randint(len(ordinary), input_ids.shape)]
    masked = input_ids.clone()
    masked[picked & (r < 0.8)] = mask_id
    swap = picked & (r >= 0.8) & (r < 0.9)
    masked[swap] = random_ids[swap]
    return masked, labels


# ------------------------------------------------------------------ 2. segment ids


@exercise(
    "segment_ids",
    hint="a position is in segment 1 once a [SEP] has been passed before it; a running count "
    "of the [SEP]s so far tells you that. Padding stays 0.",
)
def check_segment_ids(fn):
    ids = torch.tensor(
        [
            [CLS, 11, 12, SEP, 13, 14, 15, SEP, PAD, PAD],
            [CLS, 11, SEP, 12, SEP, PAD, PAD, PAD, PAD, PAD],
            [CLS, 11, 12, 13, 14, SEP, 15, 16, 17, SEP],
        ]
    )
    want = torch.tensor(
        [[0, 0, 0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]]
    )
    got = torch.as_tensor(fn(ids, sep_id=SEP, pad_id=PAD))
    if tuple(got.shape) != tuple(ids.shape):
        raise Wrong(
            f"segment ids must have the shape of input_ids {tuple(ids.shape)}, got {tuple(got.shape)}"
        )
    if torch.equal(got, want):
        return
    first_sep = (ids[0] == SEP).nonzero()[0].item()
    if got[0, first_sep] == 1:
        raise Wrong("the first [SEP] closes sentence A: it belongs to segment 0")
    if (got[ids == PAD] != 0).any():
        raise Wrong("padding positions should get segment id 0 (the attention mask hides them anyway)")
    if (got[ids == CLS] != 0).any():
        raise Wrong("[CLS] starts sentence A: it belongs to segment 0")
    if (got[0, first_sep + 1 : 8] != 1).any():
        raise Wrong("sentence B, with its closing [SEP], belongs to segment 1")
    raise Wrong(f"for {ids[0].tolist()} expected {want[0].tolist()}, got {got[0].tolist()}")


@check_segment_ids.reference
def segment_ids(input_ids, sep_id, pad_id):
    seps_before = torch.cumsum((input_ids == sep_id).long(), dim=1) - (input_ids == sep_id).long()
    return ((seps_before >= 1) & (input_ids != pad_id)).long()


# ------------------------------------------------------------------ 3. next-sentence pairs


@exercise(
    "nsp_example",
    hint="a random B must come from a document other than A's, drawn with rng so the pairs "
    "are reproducible; label 1 means 'B is random', 0 means 'B follows A'.",
)
def check_nsp_example(fn):
    docs = [[f"d{d}s{i}" for i in range(4)] for d in range(6)]
    a, b, label = fn(docs, 2, 1, False, random.Random(0))
    if a != "d2s1":
        raise Wrong(f"sentence A must be documents[d][i] = 'd2s1', got {a!r}")
    if b != "d2s2":
        raise Wrong(
            f"when is_random is False, B is the sentence right after A in the same document ('d2s2'), "
            f"got {b!r}"
        )
    if label != 0:
        raise Wrong(f"a true next sentence has label 0 (IsNext), got {label!r}")
    seen_docs = set()
    for seed in range(60):
        a, b, label = fn(docs, 2, 1, True, random.Random(seed))
        if label != 1:
            raise Wrong(f"a random second sentence has label 1 (NotNext), got {label!r}")
        if not (isinstance(b, str) and b.startswith("d")):
            raise Wrong(f"B must be one of the sentences in documents, got {b!r}")
        if b.startswith("d2"):
            raise Wrong(
                "a random B came from A's own document; draw it from another document, or the label lies"
            )
        seen_docs.add(b.split("s")[0])
    if len(seen_docs) < 3:
        raise Wrong(
            f"random B sentences came only from {sorted(seen_docs)}; draw the document at random with rng"
        )


@check_nsp_example.reference
def nsp_example(documents, d, i, is_random, rng):
    a = documents[d][i]
    if not is_random:
        return a, documents[d][i + 1], 0
    other = rng.randrange(len(documents) - 1)
    other += other >= d  # skip A's own document
    return a, rng.choice(documents[other]), 1


# ------------------------------------------------------------------ 4. the pretraining loss


def _loss_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    B, T, V = 4, 9, 20
    mlm_logits = torch.randn(B, T, V, generator=g) * 2
    nsp_logits = torch.randn(B, 2, generator=g)
    labels = torch.full((B, T), -100)
    pick = torch.rand(B, T, generator=g) < 0.3
    pick[0, 1] = True
    labels[pick] = torch.randint(7, V, (B, T), generator=g)[pick]
    nsp = torch.tensor([0, 1, 1, 0])
    return mlm_logits, nsp_logits, labels, nsp


@exercise(
    "pretraining_loss",
    hint="two tasks, two mean losses, one sum. The masked-LM mean runs over the picked "
    "positions only: find out how F.cross_entropy can skip the positions labelled -100, and which shapes "
    "it expects.",
)
def check_pretraining_loss(fn):
    args = _loss_inputs()
    mlm_logits, nsp_logits, labels, nsp = args
    got = fn(*args)
    if not torch.is_tensor(got) or got.numel() != 1:
        raise Wrong("return the loss as a single scalar tensor")
    got = got.float().reshape(())
    V = mlm_logits.shape[-1]
    sel = labels != -100
    mlm = F.cross_entropy(mlm_logits[sel], labels[sel])
    nsp_l = F.cross_entropy(nsp_logits, nsp)
    want = mlm + nsp_l
    if torch.allclose(got, want, atol=1e-4):
        return
    if torch.allclose(got, mlm, atol=1e-4):
        raise Wrong("your loss is the MLM loss alone; BERT adds the next-sentence loss to it")
    if torch.allclose(got, nsp_l, atol=1e-4):
        raise Wrong("your loss is the NSP loss alone; BERT adds the masked-LM loss to it")
    summed = F.cross_entropy(mlm_logits[sel], labels[sel], reduction="sum") + nsp_l
    if torch.allclose(got, summed, atol=1e-3):
        raise Wrong(
            "you summed the MLM loss over masked positions; BERT takes the mean over masked positions"
        )
    all_pos = F.cross_entropy(mlm_logits.view(-1, V), labels.clamp(min=0).view(-1)) + nsp_l
    if torch.allclose(got, all_pos, atol=1e-3):
        raise Wrong(
            "your loss counts the unmasked positions too (as if their label were 0); only positions with a "
            "label other than -100 count"
        )
    raise Wrong(
        f"expected {want.item():.4f} (mean MLM loss over masked positions + mean NSP loss), "
        f"got {got.item():.4f}"
    )


@check_pretraining_loss.reference
def pretraining_loss(mlm_logits, nsp_logits, mlm_labels, nsp_labels):
    V = mlm_logits.shape[-1]
    mlm = F.cross_entropy(mlm_logits.reshape(-1, V), mlm_labels.reshape(-1), ignore_index=-100)
    return mlm + F.cross_entropy(nsp_logits, nsp_labels)


# ------------------------------------------------------------------ 5. the expected layer of a probing curve


def _expected(acc, clip=True, first=1):
    gains = [a - b for a, b in zip(acc[1:], acc[:-1])]
    if clip:
        gains = [max(0.0, g) for g in gains]
    return sum((layer + first) * g for layer, g in enumerate(gains)) / sum(gains)


@exercise(
    "expected_layer",
    hint="weight each layer by what it adds over the layer below it (nothing if it loses "
    "accuracy), and average the layer numbers with those weights",
)
def check_expected_layer(fn):
    cases = ([0.5, 0.9, 0.95, 0.93, 0.99], [0.6, 0.55, 0.9], [0.5, 0.5, 0.6, 0.9, 0.92])
    for acc in cases:
        got = fn(list(acc))
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"return one number, got {type(got).__name__}") from None
        want = _expected(acc)
        if abs(got - want) < 1e-6:
            continue
        if abs(got - _expected(acc, clip=False)) < 1e-6:
            raise Wrong(
                f"for accuracies {acc} a layer loses accuracy, and your expectation lets that loss count "
                "against it; a layer adds max(0, a_l - a_(l-1)): clip the gains at 0"
            )
        if abs(got - _expected(acc, first=0)) < 1e-6:
            raise Wrong(
                "your layer numbers are one too low: Δ_1 = a_1 - a_0 is the gain OF layer 1 over the "
                "embeddings (layer 0), so it is weighted by 1"
            )
        weighted_acc = sum(layer * a for layer, a in enumerate(acc)) / sum(acc)
        if abs(got - weighted_acc) < 1e-6:
            raise Wrong(
                "you weighted each layer by its accuracy; weight it by what it ADDS over the layer below, "
                "so that a property read off early is not credited to every later layer"
            )
        gains = [a - b for a, b in zip(acc[1:], acc[:-1])]
        if abs(got - (acc.index(max(acc)))) < 1e-6 or abs(got - (1 + gains.index(max(gains)))) < 1e-6:
            raise Wrong(
                f"for accuracies {acc} you returned one layer (the best, or the one with the largest gain); "
                "the expected layer averages the layer numbers, weighted by the gains"
            )
        raise Wrong(
            f"for accuracies {acc} (embeddings first) the expected layer is {want:.4f}, yours is {got:.4f}"
        )


@check_expected_layer.reference
def expected_layer(accuracies):
    """[a_0 (embeddings), a_1, ..., a_L] -> Σ_l l Δ_l / Σ_l Δ_l with Δ_l = max(0, a_l - a_(l-1))."""
    a = list(accuracies)
    gains = [max(0.0, a[layer] - a[layer - 1]) for layer in range(1, len(a))]  # what each layer adds
    return sum(layer * g for layer, g in zip(range(1, len(a)), gains)) / sum(gains)


# ------------------------------------------------------------------ questions

question(
    "mask_share",
    0.12,
    "15% of the ordinary tokens are picked, and 80% of those become [MASK]: 0.15 × 0.8 = 0.12. Another 1.5% "
    "become a random token and 1.5% stay as they are, yet all 15% are predicted.",
    tol=0.005,
    mistakes={
        0.15: "that is the share of tokens picked; only 80% of the picked ones become [MASK]",
        0.8: "that is the share of the PICKED tokens; the question asks about all ordinary tokens",
        0.135: "that counts the random replacements too; a random token is not [MASK]",
        0.015: "that is the share replaced by a random token (or the share kept as it is)",
    },
)

question(
    "sentiment_pretraining",
    "b",
    "Masked language modelling learns which words can fill a blank, and `great` and `awful` fill the same "
    "blanks (`the show was ...`), so pretraining has little reason to tell them apart; and the pooled [CLS] "
    "vector was trained by next-sentence prediction to say what a pair is about, not whether it is praise. "
    "A pretrained encoder helps a task to the extent that its pretraining needed the same information.",
    choices={
        "a": "yes: the pretrained encoder is clearly better",
        "b": "no: the freshly initialised network is at least as good",
    },
    mistakes={
        "a": "ask what masked language modelling needs to know about `great` and `awful`: do they fill "
        "different blanks?"
    },
)


# ------------------------------------------------------------------ 6. a control task for a probe

_WORDS = ["bank", "bat", "bank", "crane", "bat", "bank", "plant", "crane", "plant", "bank", "bat", "crane"]
_LABELS = [0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0]


@exercise(
    "control_task",
    hint="the control label belongs to the word, not to the sentence it is in; it is drawn "
    "at random from the task's labels, reproducibly from the seed",
)
def check_control_task(fn):
    runs = [fn(list(_WORDS), list(_LABELS), seed) for seed in range(12)]
    for out in runs:
        try:
            out = [x.item() if hasattr(x, "item") else x for x in out]
        except TypeError:
            raise Wrong(f"return a list with one control label per word, got {type(out).__name__}") from None
        if len(out) != len(_WORDS):
            raise Wrong(
                f"return one control label per word occurrence: {len(_WORDS)} words, {len(out)} labels"
            )
        if out == _LABELS:
            raise Wrong(
                "you returned the real labels; a control task replaces them by random ones, so that a probe "
                "scoring well on it shows what the probe can memorise, not what the features hold"
            )
        if not set(out) <= set(_LABELS):
            raise Wrong(
                f"control labels come from the task's own labels {sorted(set(_LABELS))}, so that chance is "
                f"the same; got {sorted(set(out), key=repr)}"
            )
        for w in set(_WORDS):
            seen = {out[i] for i, x in enumerate(_WORDS) if x == w}
            if len(seen) > 1:
                raise Wrong(
                    f"the occurrences of {w!r} got different control labels {sorted(seen)}: a control task "
                    "gives each word TYPE one label, whatever its context, so that only memorising the "
                    "word can solve it"
                )
    if fn(list(_WORDS), list(_LABELS), 3) != fn(list(_WORDS), list(_LABELS), 3):
        raise Wrong("the same seed gave two different control tasks; draw with a generator seeded by `seed`")
    per_word = {tuple(r[_WORDS.index(w)] for w in sorted(set(_WORDS))) for r in runs}
    if len(per_word) == 1:
        raise Wrong("every seed gave the same labelling; the labels must be drawn at random from the seed")
    if all(len(set(p)) == 1 for p in per_word):
        raise Wrong("within a seed every word got the same label; draw each word type's label on its own")


@check_control_task.reference
def control_task(words, labels, seed):
    rng = random.Random(seed)
    choices = sorted(set(labels))
    label_of = {w: rng.choice(choices) for w in sorted(set(words))}  # one random label per word type
    return [label_of[w] for w in words]
