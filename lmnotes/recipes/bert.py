"""How the book pretrains BERT on the world and uses it: the data pipeline, the recipe, fill-in-the-blank.

Read top to bottom, in the order of Devlin et al. (2019):

* :func:`mask_tokens` — the 15% / 80-10-10 masking; :func:`next_sentence_pairs` — ``[CLS] A [SEP] B [SEP]``
  with a real or a random second sentence; :func:`pretraining_batches` — dynamic masking, batch by batch.
* :func:`fill_mask` — the top-k words for every ``[MASK]`` of a text.
* :func:`encode_words` — pre-split sentences (with per-word labels) as the inputs of the fine-tuning heads.
* :func:`world_bert` — the chapter's BERT, pretrained from scratch on the world's documents and sentences,
  registered as ``lmnotes.pretrained("bert-world")``.

Example::

    pairs = next_sentence_pairs(docs["train"]["sentences"], tok, max_length=48)
    batch = next(pretraining_batches(pairs, tok))
    out = BertForPreTraining(config)(**batch); out.loss.backward()
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from ..data import BPETokenizer, corpus, documents
from ..data.batching import IGNORE_INDEX, pad_batch
from ..models.bert import BertConfig, BertForPreTraining
from ..train import fit
from ..utils import eval_mode, pick_device
from ..zoo import register

# ---------------------------------------------------------------------------------------------
# The pretraining data: masking and sentence pairs
# ---------------------------------------------------------------------------------------------


def mask_tokens(
    input_ids: torch.Tensor,
    tokenizer=None,
    *,
    mask_id: int | None = None,
    vocab_size: int | None = None,
    special_ids: Sequence[int] | None = None,
    prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: pick each ordinary token with probability ``prob`` (15%); of the picked,
    80% become ``[MASK]``, 10% a random ordinary token, 10% stay as they are.

    input_ids: (B, T). Special tokens (``[CLS]``, ``[SEP]``, ``[PAD]``, ...) are never picked. The ids of
    ``[MASK]`` and of the special tokens and the vocabulary size come from ``tokenizer``; without one, give
    ``mask_id``, ``vocab_size`` and ``special_ids``. Returns ``(masked_ids, labels)``, both (B, T): labels hold
    the original id at picked positions and ``IGNORE_INDEX`` (-100) everywhere else (the loss skips them).

    Example: ``ids, labels = mask_tokens(batch["input_ids"], tok)``
    """
    if not torch.is_tensor(input_ids) or input_ids.is_floating_point():
        raise ValueError("input_ids must be an integer tensor of token ids")
    if tokenizer is not None:
        mask_id = tokenizer.mask_id if mask_id is None else mask_id
        vocab_size = tokenizer.vocab_size if vocab_size is None else vocab_size
        special_ids = tokenizer.special_ids if special_ids is None else special_ids
    given = {"mask_id": mask_id, "vocab_size": vocab_size, "special_ids": special_ids}
    missing = [n for n, v in given.items() if v is None]
    if missing:
        raise ValueError(
            f"mask_tokens needs the tokenizer, or {', '.join(missing)}: pass mask_tokens(ids, tok)"
        )
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}")
    specials = torch.tensor(sorted(set(special_ids)), device=input_ids.device)
    ordinary = torch.tensor(
        [i for i in range(vocab_size) if i not in set(special_ids)], device=input_ids.device
    )
    if len(ordinary) == 0:
        raise ValueError(f"vocab_size={vocab_size} leaves no ordinary token besides the special ids")
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    picked = (u < prob) & ~torch.isin(input_ids, specials)  # (B, T)
    labels = torch.where(picked, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    # One draw decides what happens to a picked token: [0, .8) mask, [.8, .9) random, [.9, 1) keep.
    r = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    random_ids = ordinary[
        torch.randint(len(ordinary), input_ids.shape, generator=generator, device=input_ids.device)
    ]
    out = input_ids.clone()
    out = torch.where(picked & (r < 0.8), torch.full_like(input_ids, mask_id), out)
    out = torch.where(picked & (r >= 0.8) & (r < 0.9), random_ids, out)
    return out, labels


def truncate_pair(a: list, b: list, max_tokens: int) -> tuple[list, list]:
    """Shorten ``a`` and ``b`` until ``len(a) + len(b) <= max_tokens``, always cutting the end of the longer one.

    Example: ``truncate_pair([1, 2, 3, 4], [5, 6], 4)  # ([1, 2], [5, 6])``
    """
    a, b = list(a), list(b)
    while len(a) + len(b) > max_tokens:
        (a if len(a) >= len(b) else b).pop()
    return a, b


def next_sentence_pairs(
    documents: Sequence[Sequence[str]],
    tokenizer,
    *,
    max_length: int = 64,
    seed: int = 0,
    random_prob: float = 0.5,
) -> dict:
    """Sentence pairs for next-sentence prediction: ``[CLS] A [SEP] B [SEP]``.

    For every sentence A that has a next sentence in its document, B is that next sentence
    (label 0) or, with probability ``random_prob``, a sentence drawn from another document (label 1).
    Pairs longer than ``max_length`` are truncated (the longer sentence loses its last tokens).

    Returns a dict of tensors, N pairs padded to the longest: ``input_ids``, ``segment_ids`` (0 on
    ``[CLS] A [SEP]``, 1 on ``B [SEP]``), ``attention_mask`` (N, T), ``nsp_labels`` (N,), and
    ``doc_a``/``doc_b`` (N,): the documents A and B came from.

    Example: ``pairs = next_sentence_pairs(docs["train"]["sentences"], tok, max_length=48)``
    """
    if max_length < 5:
        raise ValueError(
            f"max_length must be >= 5 ([CLS] A [SEP] B [SEP] with a token in each), got {max_length}"
        )
    if not isinstance(random_prob, (int, float)) or not 0.0 <= random_prob <= 1.0:
        raise ValueError(
            f"random_prob is the share of pairs whose B is a random sentence: a probability in [0, 1], "
            f"got {random_prob!r}"
        )
    if len(documents) < 2:
        raise ValueError(
            f"next-sentence pairs need at least 2 documents (a random B comes from another one), "
            f"got {len(documents)}"
        )
    rng = random.Random(seed)
    encoded = [[tokenizer.encode(s) for s in doc] for doc in documents]
    rows = []
    for d, doc in enumerate(encoded):
        for i in range(len(doc) - 1):
            if rng.random() < random_prob:
                other = rng.randrange(len(encoded) - 1)
                other += other >= d  # any document but this one
                b, label, db = rng.choice(encoded[other]), 1, other
            else:
                b, label, db = doc[i + 1], 0, d
            a, b = truncate_pair(doc[i], b, max_length - 3)
            ids = [tokenizer.cls_id] + a + [tokenizer.sep_id] + b + [tokenizer.sep_id]
            seg = [0] * (len(a) + 2) + [1] * (len(b) + 1)
            rows.append((ids, seg, label, d, db))
    if not rows:
        raise ValueError("no document has two sentences; next-sentence pairs need documents of 2+ sentences")
    batch = pad_batch([r[0] for r in rows], pad_id=tokenizer.pad_id)  # input_ids, attention_mask (N, T)
    segment_ids = pad_batch([r[1] for r in rows], pad_id=0)["input_ids"]  # (N, T), 0 on padding too
    return {
        "input_ids": batch["input_ids"],
        "segment_ids": segment_ids,
        "attention_mask": batch["attention_mask"],
        "nsp_labels": torch.tensor([r[2] for r in rows]),
        "doc_a": torch.tensor([r[3] for r in rows]),
        "doc_b": torch.tensor([r[4] for r in rows]),
    }


def pretraining_batches(pairs: dict, tokenizer, batch_size: int = 64, seed: int = 0, prob: float = 0.15):
    """An endless stream of pretraining batches from :func:`next_sentence_pairs`: a random subset of
    pairs, trimmed to their longest real sequence, freshly masked each time (dynamic masking).

    Yields dicts with ``input_ids``, ``segment_ids``, ``attention_mask``, ``mlm_labels``, ``nsp_labels``.
    Example: ``batches = pretraining_batches(pairs, tok); next(batches)["mlm_labels"]``
    """
    g = torch.Generator().manual_seed(seed)
    N = len(pairs["input_ids"])
    while True:
        idx = torch.randint(N, (min(batch_size, N),), generator=g)
        T = int(pairs["attention_mask"][idx].sum(1).max())
        ids = pairs["input_ids"][idx, :T]
        masked, labels = mask_tokens(ids, tokenizer, prob=prob, generator=g)
        yield {
            "input_ids": masked,
            "segment_ids": pairs["segment_ids"][idx, :T],
            "attention_mask": pairs["attention_mask"][idx, :T],
            "mlm_labels": labels,
            "nsp_labels": pairs["nsp_labels"][idx],
        }


def pretraining_loss(model: BertForPreTraining, batch: dict) -> dict:
    """``loss_fn`` for :func:`lmnotes.train.fit`: the loss and the MLM and NSP accuracies."""
    out = model(**batch)
    return {
        "loss": out.loss,
        "mlm_loss": out.mlm_loss,
        "nsp_loss": out.nsp_loss,
        "mlm_acc": out.mlm_acc if out.mlm_acc is not None else torch.tensor(0.0),
        "nsp_acc": out.nsp_acc if out.nsp_acc is not None else torch.tensor(0.0),
    }


# ---------------------------------------------------------------------------------------------
# Using a trained BERT
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def fill_mask(model: BertForPreTraining, tokenizer, text: str, k: int = 5) -> list[list[tuple[str, float]]]:
    """The top-``k`` tokens (and probabilities) for every ``[MASK]`` in ``text``.

    Example: ``fill_mask(model, tok, "a robin is a [MASK] .")  # [[("▁bird", 0.93), ...]]``
    """
    ids, seg = tokenizer.encode_pair(text)
    if tokenizer.mask_id not in ids:
        raise ValueError(f"the text must contain [MASK] somewhere, got {text!r}")
    device = next(model.parameters()).device
    x = torch.tensor([ids], device=device)
    with eval_mode(model):
        logits = model(x, torch.tensor([seg], device=device)).mlm_logits[0]  # (T, V)
    out = []
    for t in (x[0] == tokenizer.mask_id).nonzero().flatten().tolist():
        p = logits[t].float().softmax(-1)
        top = p.topk(k)
        out.append(
            [(tokenizer.id_to_token(i), float(v)) for v, i in zip(top.values.tolist(), top.indices.tolist())]
        )
    return out


# ---------------------------------------------------------------------------------------------
# Fine-tuning data: words and their labels
# ---------------------------------------------------------------------------------------------


def finetuning_loss(model, batch: dict) -> dict:
    """``loss_fn`` for :func:`lmnotes.train.fit` with a :class:`~lmnotes.models.bert.BertClassifier` or
    :class:`~lmnotes.models.bert.BertTagger`: the loss and the accuracy on the batch's labels.

    Example: ``fit(tagger, batches, finetuning_loss, steps=100)``
    """
    out = model(**batch)
    return {"loss": out.loss, "acc": out.acc}


def encode_words(
    tokenizer,
    sentences: Sequence[Sequence[str]],
    labels: Sequence[Sequence[int]] | None = None,
    max_length: int | None = None,
) -> dict:
    """``[CLS] w_1 ... w_n [SEP]`` for pre-split sentences, padded: ``input_ids``, ``attention_mask`` (N, T) and,
    with per-word ``labels``, ``labels`` (N, T) holding each word's label on its FIRST sub-word and -100 elsewhere.

    Example: ``batch = encode_words(tok, [["the", "duck", "swam", "."]], [[0, 1, 2, 3]])``
    """
    rows, labs = [], []
    for n, words in enumerate(sentences):
        ids, lab = [tokenizer.cls_id], [IGNORE_INDEX]
        for i, w in enumerate(words):
            piece = tokenizer.encode(w) or [tokenizer.unk_id]
            ids += piece
            lab += [labels[n][i] if labels is not None else IGNORE_INDEX] + [IGNORE_INDEX] * (len(piece) - 1)
        ids, lab = ids + [tokenizer.sep_id], lab + [IGNORE_INDEX]
        if max_length is not None and len(ids) > max_length:
            ids, lab = ids[: max_length - 1] + [tokenizer.sep_id], lab[: max_length - 1] + [IGNORE_INDEX]
        rows.append(ids)
        labs.append(lab)
    return pad_batch(rows, pad_id=tokenizer.pad_id, labels=labs if labels is not None else None)


# ---------------------------------------------------------------------------------------------
# A BERT pretrained on the world's text, shared by the chapter's notebooks (and later chapters)
# ---------------------------------------------------------------------------------------------


WORLD_CONFIG = {
    "n_docs": 1500,
    "n_sentences": 6000,
    "cue_distance": (7, 10),
    "vocab_size": 400,
    "d_model": 64,
    "n_layer": 4,
    "n_head": 4,
    "d_ff": 256,
    "window": 3,
    "global_layers": 1,
    "max_length": 48,
    "batch_size": 64,
    "steps": 1200,
    "lr": 2e-3,
    "seed": 0,
}


SENTENCE_KINDS = {
    "sense": 4,
    "noun_verb": 3,
    "isa": 1,
    "property": 1,
    "motion": 1,
    "transitive": 1,
    "review": 2,
}


def world_tokenizer(n_docs: int = 1500, vocab_size: int = 400, seed: int = 0):
    """The sub-word (BPE) tokenizer of the chapter, trained on the world's documents and general corpus."""
    docs = documents(n_docs, seed=seed)
    texts = [s for d in docs["train"]["sentences"] for s in d] + list(
        corpus(2000, seed=seed)["train"]["text"]
    )
    return BPETokenizer().train(texts, vocab_size=vocab_size)


def single_sentences(texts: Sequence[str], tokenizer, max_length: int = 64) -> dict:
    """``[CLS] sentence [SEP]`` inputs for masked-LM only (``nsp_labels`` -100): the same dict as
    :func:`next_sentence_pairs`, so the two can be mixed with :func:`concat_examples`."""
    enc = encode_words(tokenizer, [t.split() for t in texts], max_length=max_length)
    N = len(texts)
    return {
        "input_ids": enc["input_ids"],
        "segment_ids": torch.zeros_like(enc["input_ids"]),
        "attention_mask": enc["attention_mask"],
        "nsp_labels": torch.full((N,), IGNORE_INDEX),
        "doc_a": torch.full((N,), -1),
        "doc_b": torch.full((N,), -1),
    }


def concat_examples(*parts: dict, pad_id: int = 0) -> dict:
    """Stack example dicts (from :func:`next_sentence_pairs` / :func:`single_sentences`), padding to one length."""
    T = max(p["input_ids"].shape[1] for p in parts)
    out = {}
    for k in parts[0]:
        chunks = []
        for p in parts:
            v = p[k]
            if v.dim() == 2 and v.shape[1] < T:
                fill = pad_id if k == "input_ids" else 0
                v = torch.cat([v, torch.full((v.shape[0], T - v.shape[1]), fill, dtype=v.dtype)], 1)
            chunks.append(v)
        out[k] = torch.cat(chunks)
    return out


def world_pretraining_data(config: dict, tokenizer) -> dict:
    """The pretraining examples: sentence pairs from the world's documents (MLM + NSP) and single
    sentences from its general corpus, ambiguous words included (MLM only)."""
    c = {**WORLD_CONFIG, **config}
    docs = documents(c["n_docs"], seed=c["seed"])
    pairs = next_sentence_pairs(
        docs["train"]["sentences"], tokenizer, max_length=c["max_length"], seed=c["seed"]
    )
    sents = corpus(
        c["n_sentences"],
        seed=c["seed"] + 1,
        kinds=SENTENCE_KINDS,
        cue_side="random",
        cue_distance=tuple(c["cue_distance"]),
    )
    single = single_sentences(sents["train"]["text"], tokenizer, max_length=c["max_length"])
    return concat_examples(pairs, single, pad_id=tokenizer.pad_id)


def world_bert(config: dict | None = None, device=None, progress: bool = False):
    """Pretrain the chapter's BERT from scratch: returns ``(model, tokenizer, history)``."""
    c = {**WORLD_CONFIG, **(config or {})}
    torch.manual_seed(c["seed"])
    tok = world_tokenizer(c["n_docs"], c["vocab_size"], 0)
    data = world_pretraining_data(c, tok)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        max_position=c["max_length"],
        d_model=c["d_model"],
        n_layer=c["n_layer"],
        n_head=c["n_head"],
        d_ff=c["d_ff"],
        dropout=0.0,
        window=c["window"],
        global_layers=c["global_layers"] if c["window"] is not None else 0,
    )
    model = BertForPreTraining(cfg)
    history = fit(
        model,
        pretraining_batches(data, tok, c["batch_size"], seed=c["seed"]),
        pretraining_loss,
        steps=c["steps"],
        lr=c["lr"],
        weight_decay=0.01,
        device=device or pick_device(),
        progress=progress,
    )
    return model.eval(), tok, history


@register("bert-world", config=WORLD_CONFIG)
def build_bert_world(config: dict):
    """``lmnotes.pretrained("bert-world")``: the chapter's BERT; its training curves are in ``model.history``."""
    model, tok, history = world_bert(config)
    model.history = history.to_dict()
    return model, tok
