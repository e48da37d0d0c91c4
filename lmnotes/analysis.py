"""What the chapters measure: linear probes, and the per-layer features they read.

Every per-layer feature function returns one shape, ``(L, N, D)``: ``L`` layers (layer 0 is the
context-free token layer), ``N`` words, ``D`` features, on the CPU in float32; ``features[j]`` is
layer ``j``'s ``(N, D)`` matrix, ready for :func:`probe_accuracy`.

A probe is logistic regression on frozen features. A high held-out accuracy says the property is
*linearly decodable* from that layer; comparing layers says where it is easiest to read. Because a
rich probe can memorise labels by itself, Hewitt & Liang (2019) compare with a *control task*: the
same words given random labels (one random label per word type). Selectivity = accuracy on the real
task minus accuracy on the control task; a good probe is selective.

Example::

    X_train = word_features(model, tok, ds["train"]["words"], ds["train"]["target_index"])   # (L, N, D)
    acc = probe_accuracy(X_train[2], y_train, X_test[2], y_test)                             # one layer
    accs = layer_probe({"layer 0": (Xtr0, Xte0), "layer 1": (Xtr1, Xte1)}, ytr, yte)
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data.batching import pad_batch
from .data.tokenizers import ELMoTokenizer
from .models.bert import Bert, BertForPreTraining
from .models.elmo import BiLM, ScalarMix
from .utils import eval_mode

# ---------------------------------------------------------------------------------------------
# Linear probes and the control task
# ---------------------------------------------------------------------------------------------


def _as_labels(y, name: str) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integer labels, got shape {tuple(y.shape)}")
    if y.is_floating_point():
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.long()


def probe_accuracy(
    train_X,
    train_y,
    test_X,
    test_y,
    *,
    epochs: int = 200,
    lr: float = 0.05,
    weight_decay: float = 1e-3,
    standardize: bool = True,
    device=None,
    seed: int = 0,
) -> float:
    """Fit a logistic-regression probe on ``train_X`` (N, D) -> ``train_y`` (N,); return test accuracy.

    Full-batch AdamW on the cross-entropy; features are standardised with the training mean and
    standard deviation (so one learning rate suits every layer). Runs on ``device`` (default: the
    features' device).

    Example: ``acc = probe_accuracy(torch.randn(100, 8), torch.randint(0, 2, (100,)), Xte, yte)``
    """
    Xtr = torch.as_tensor(train_X).detach().float()
    Xte = torch.as_tensor(test_X).detach().float()
    ytr = _as_labels(train_y, "train_y")
    yte = _as_labels(test_y, "test_y")
    if Xtr.dim() != 2 or Xte.dim() != 2:
        raise ValueError(
            f"features must be 2-D (N, D), got train_X {tuple(Xtr.shape)} and test_X {tuple(Xte.shape)}"
        )
    if Xtr.shape[1] != Xte.shape[1]:
        raise ValueError(f"train_X has {Xtr.shape[1]} features but test_X has {Xte.shape[1]}")
    if len(Xtr) != len(ytr) or len(Xte) != len(yte):
        raise ValueError(
            f"features and labels must have the same length: train {len(Xtr)} vs {len(ytr)}, "
            f"test {len(Xte)} vs {len(yte)}"
        )
    if len(Xtr) == 0 or len(Xte) == 0:
        raise ValueError("train and test sets must not be empty")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else Xtr.device
    Xtr, Xte, ytr, yte = Xtr.to(device), Xte.to(device), ytr.to(device), yte.to(device)
    if standardize:
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    n_classes = int(max(ytr.max(), yte.max())) + 1
    g = torch.Generator().manual_seed(seed)
    W = (torch.randn(Xtr.shape[1], n_classes, generator=g) * 0.01).to(device).requires_grad_()
    b = torch.zeros(n_classes, device=device, requires_grad=True)
    opt = torch.optim.AdamW([W, b], lr=lr, weight_decay=weight_decay)
    with torch.enable_grad():
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(Xtr @ W + b, ytr).backward()
            opt.step()
    with torch.no_grad():
        return float(((Xte @ W + b).argmax(-1) == yte).float().mean())


def layer_probe(features_by_layer: dict, train_y, test_y, **kwargs) -> dict[str, float]:
    """Probe every layer: ``{name: (train_X (N, D), test_X (M, D))}`` -> ``{name: test accuracy}``.

    Keyword arguments go to :func:`probe_accuracy`.

    Example: ``layer_probe({"layer 0": (Xtr0, Xte0), "layer 1": (Xtr1, Xte1)}, ytr, yte)``
    """
    if not features_by_layer:
        raise ValueError("features_by_layer is empty; give at least one layer as name -> (train_X, test_X)")
    out = {}
    for name, pair in features_by_layer.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"features_by_layer[{name!r}] must be a pair (train_X, test_X)")
        out[name] = probe_accuracy(pair[0], train_y, pair[1], test_y, **kwargs)
    return out


def control_labels(words: Sequence[str], labels: Sequence, seed: int = 0) -> list:
    """A control task (Hewitt & Liang, 2019): each word *type* gets one random label, kept everywhere.

    The labels are drawn from the set of real labels, so the control task has the same label set;
    a probe that scores well on it is memorising word identity, not reading the property.

    Example: ``control_labels(["bank", "bat", "bank"], [0, 1, 1], seed=0)  # e.g. [1, 0, 1]``
    """
    if len(words) != len(labels):
        raise ValueError(f"words and labels must have the same length, got {len(words)} and {len(labels)}")
    labels = [x.item() if hasattr(x, "item") else x for x in labels]
    choices = sorted(set(labels), key=repr)
    rng = random.Random(seed)
    by_word: dict[str, object] = {}
    for w in sorted(set(words)):
        by_word[w] = rng.choice(choices)
    return [by_word[w] for w in words]


# ---------------------------------------------------------------------------------------------
# Labels of a probing corpus
# ---------------------------------------------------------------------------------------------


def class_names(ds) -> list:
    """The labels of a probing corpus (a ``DatasetDict`` with a ``label`` column), sorted: class ``i`` is ``names[i]``.

    Example: ``class_names(pos_corpus(100))  # ['noun', 'verb']``
    """
    return sorted(set(ds["train"]["label"]))


def label_ids(ds, splits: str | Sequence[str] = ("train", "test"), control: bool = False, seed: int = 0):
    """Class ids (N,) of each split's labels, numbered as in :func:`class_names`: a tuple of tensors, one per
    split (a single tensor when ``splits`` is one name).

    ``control=True`` gives the control task's labels instead (:func:`control_labels`): one random label per
    target word type (``words[target_index]``), the same word getting the same label in every split asked for.
    Example: ``y_train, y_test = label_ids(ds)``; ``label_ids(ds, "train", control=True)``
    """
    names = class_names(ds)
    one = isinstance(splits, str)
    splits = [splits] if one else list(splits)
    ys = {s: [names.index(x) for x in ds[s]["label"]] for s in splits}
    if control:
        words = {s: [w[i] for w, i in zip(ds[s]["words"], ds[s]["target_index"])] for s in splits}
        flat = control_labels(
            [w for s in splits for w in words[s]], [y for s in splits for y in ys[s]], seed=seed
        )
        start = 0
        for s in splits:
            ys[s], start = flat[start : start + len(words[s])], start + len(words[s])
    out = tuple(torch.tensor(ys[s]) for s in splits)
    return out[0] if one else out


def balanced(ds):
    """The same number of examples of each label in every split of ``ds`` (so chance is 1 / number of labels):
    each split keeps the first ``k`` examples of each label, ``k`` its rarest label's count.

    Example: ``pos = balanced(pos_corpus(3000))``
    """
    out = {}
    for split, d in ds.items():
        labels = d["label"]
        k = min(labels.count(x) for x in set(labels))
        seen: dict = {}
        keep = []
        for i, x in enumerate(labels):
            seen[x] = seen.get(x, 0) + 1
            if seen[x] <= k:
                keep.append(i)
        out[split] = d.select(keep)
    return type(ds)(out) if hasattr(ds, "column_names") else out


# ---------------------------------------------------------------------------------------------
# Per-layer features
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def word_features(
    model: Bert | BertForPreTraining,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    indices: Sequence[int],
    batch_size: int = 256,
) -> torch.Tensor:
    """Hidden states of one word per sentence at every layer of a BERT: (n_layer + 1, N, C), on the CPU.

    ``sentences``: lists of words; ``indices``: which word of each (its first sub-word is read).
    Layer 0 is the embedding layer. The model reads ``[CLS] words [SEP]``. ``tokenizer`` is an lmnotes
    tokenizer, or a Hugging Face one (a fast tokenizer, which knows the word of each sub-word): a real
    BERT loaded with :meth:`~lmnotes.models.bert.Bert.from_hf` reads its own sub-words.
    Example: ``feats = word_features(model, tok, ds["words"], ds["target_index"])``
    """
    bert = getattr(model, "bert", model)
    device = next(bert.parameters()).device
    sentences, indices = list(sentences), [int(i) for i in indices]
    chunks: list[torch.Tensor] = []
    with eval_mode(bert):
        for s in range(0, len(sentences), batch_size):
            batch, pos = _words_at(tokenizer, sentences[s : s + batch_size], indices[s : s + batch_size])
            out = bert(**{k: v.to(device) for k, v in batch.items()}, output_hidden_states=True)
            h = torch.stack(out.hidden_states)  # (L, B, T, C)
            chunks.append(h[:, torch.arange(len(pos)), torch.tensor(pos)].float().cpu())  # (L, B, C)
    return torch.cat(chunks, dim=1)  # (L, N, C)


def _words_at(tokenizer, sentences: list, indices: list[int]) -> tuple[dict, list[int]]:
    """``[CLS] words [SEP]`` for each sentence, padded, and the position of the first sub-word of word ``index``."""
    for words, j in zip(sentences, indices):
        if not 0 <= j < len(words):
            raise ValueError(f"index {j} is outside a sentence of {len(words)} words")
    if hasattr(tokenizer, "is_fast"):  # Hugging Face: its own [CLS]/[SEP], sub-words and padding
        if not tokenizer.is_fast:
            raise ValueError(
                "a Hugging Face tokenizer must be a fast one (it maps each sub-word to its word); "
                "load it with AutoTokenizer.from_pretrained(name)"
            )
        enc = tokenizer(
            [list(w) for w in sentences], is_split_into_words=True, return_tensors="pt", padding=True
        )
        pos = [enc.word_ids(n).index(j) for n, j in enumerate(indices)]
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, pos
    ids, pos = [], []
    for words, j in zip(sentences, indices):
        seq = [tokenizer.cls_id]
        for w_i, w in enumerate(words):
            if w_i == j:
                pos.append(len(seq))
            seq += tokenizer.encode(w)
        ids.append(seq + [tokenizer.sep_id])
    return pad_batch(ids, pad_id=tokenizer.pad_id), pos


@torch.no_grad()
def contextual_vectors(model: BiLM, tok: ELMoTokenizer, sentences, index=None, batch_size: int = 256):
    """The three layers' vectors of words in ``sentences``.

    With ``index`` (one word position per sentence, counting words from 0, ``<S>`` excluded): a tensor
    (3, N, 2d), the vectors of word ``index[i]`` of sentence ``i``. Without: a list with one tensor
    (3, n_words_i, 2d) per sentence. Vectors are returned on the CPU in float32.
    Example: ``v = contextual_vectors(model, tok, ["the river bank was old ."], index=[2])  # (3, 1, 2d)``
    """
    device = next(model.parameters()).device
    sentences = list(sentences)
    if index is not None and len(index) != len(sentences):
        raise ValueError(
            f"index needs one position per sentence: {len(index)} positions, {len(sentences)} sentences"
        )
    out = []
    with eval_mode(model):
        for i in range(0, len(sentences), batch_size):
            chunk = sentences[i : i + batch_size]
            b = tok.batch(chunk)
            h = model.layers(b["char_ids"].to(device), b["lengths"].to(device)).float().cpu()  # (3, B, T, 2d)
            for j in range(len(chunk)):
                n_words = int(b["lengths"][j]) - 2
                if index is None:
                    out.append(h[:, j, 1 : 1 + n_words])
                else:
                    k = int(index[i + j])
                    if not 0 <= k < n_words:
                        raise ValueError(
                            f"index[{i + j}] = {k} is outside sentence {i + j}, which has {n_words} words"
                        )
                    out.append(h[:, j, 1 + k])
    return torch.stack(out, dim=1) if index is not None else out


def nearest_neighbours(
    model: BiLM, tok: ELMoTokenizer, sentence, index: int, pool, k: int = 5, pool_vectors=None
) -> list[list[tuple[float, str]]]:
    """For word ``index`` of ``sentence``, the ``k`` nearest word occurrences in ``pool`` in each layer.

    ``pool``: sentences (strings). Returns one list per layer of ``(cosine similarity, text)`` where the
    text is the pool sentence with the neighbour in brackets. ``pool_vectors`` (from
    ``contextual_vectors(model, tok, pool)``) saves recomputing the pool.
    Example: ``nearest_neighbours(model, tok, "the river bank was old .", 2, pool)[2][0]``
    """
    words = tok.split(sentence)
    if not 0 <= index < len(words):
        raise ValueError(
            f"index must be in [0, {len(words) - 1}] for a sentence of {len(words)} words, got {index}"
        )
    pool = [p if isinstance(p, str) else " ".join(p) for p in pool]
    pool_vectors = pool_vectors if pool_vectors is not None else contextual_vectors(model, tok, pool)
    where = [(s, t) for s, v in enumerate(pool_vectors) for t in range(v.shape[1])]
    P = F.normalize(torch.cat(list(pool_vectors), dim=1), dim=-1)  # (3, M, 2d)
    q = F.normalize(contextual_vectors(model, tok, [words], index=[index])[:, 0], dim=-1)  # (3, 2d)
    sims = torch.einsum("lmd,ld->lm", P, q)
    out = []
    for layer in range(sims.shape[0]):
        top = sims[layer].topk(min(k, sims.shape[1]))
        row = []
        for sim, m in zip(top.values.tolist(), top.indices.tolist()):
            s, t = where[m]
            w = pool[s].split()
            row.append((sim, " ".join(w[:t] + [f"[{w[t]}]"] + w[t + 1 :])))
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------
# ELMo's scalar mix, fitted to a task
# ---------------------------------------------------------------------------------------------


def fit_scalar_mix(layers, labels, steps: int = 300, lr: float = 0.02, seed: int = 0):
    """Learn a task's :class:`ScalarMix` and a linear classifier on frozen biLM layers; returns ``(mix, classifier)``.

    ``layers`` (L, N, D): the vectors of N labelled examples; ``labels`` (N,) class ids. Each layer is
    centred (its mean over the N examples) and divided by **one** number, its root-mean-square deviation,
    so that the weights ``s_j`` compare layers rather than their scales (the paper adds layer normalisation
    for the same reason). One number per layer, not one per feature: with a handful of labels a feature's
    standard deviation is a poor estimate, and dividing by a tiny one blows that feature up on new examples.
    A layer that is the same for every example (layer 0 of one word) becomes zeros and carries nothing.
    Predict with :func:`predict_scalar_mix`.
    Example: ``mix, clf = fit_scalar_mix(contextual_vectors(model, tok, sents, index), y); mix.weights``
    """
    layers = torch.as_tensor(layers).float()
    labels = torch.as_tensor(labels).long()
    if layers.dim() != 3 or layers.shape[1] != len(labels):
        raise ValueError(
            f"layers must be (L, N, D) with N = len(labels) = {len(labels)}, got {tuple(layers.shape)}"
        )
    if len(labels) < 2:
        raise ValueError(f"labels must hold at least 2 examples, got {len(labels)}")
    g = torch.Generator().manual_seed(seed)
    mix = ScalarMix(layers.shape[0])
    mean = layers.mean(dim=1, keepdim=True)  # (L, 1, D)
    mix.register_buffer("layer_mean", mean)
    mix.register_buffer(
        "layer_scale", (layers - mean).pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-6
    )  # (L, 1, 1)
    clf = nn.Linear(layers.shape[-1], int(labels.max()) + 1)
    with torch.no_grad():
        clf.weight.copy_(torch.randn(clf.weight.shape, generator=g) * 0.01)
        clf.bias.zero_()
    opt = torch.optim.Adam(list(mix.parameters()) + list(clf.parameters()), lr=lr)
    x = (layers - mix.layer_mean) / mix.layer_scale
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(clf(mix(x)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return mix, clf


@torch.no_grad()
def predict_scalar_mix(mix: ScalarMix, clf: nn.Module, layers) -> torch.Tensor:
    """Class ids (N,) for ``layers`` (L, N, D) with a mix and classifier from :func:`fit_scalar_mix`."""
    return clf(mix((torch.as_tensor(layers).float() - mix.layer_mean) / mix.layer_scale)).argmax(-1)


# ---------------------------------------------------------------------------------------------
# Baselines: a task model trained from scratch, n-gram perplexity
# ---------------------------------------------------------------------------------------------


class ScratchClassifier(nn.Module):
    """A task model trained from scratch: word embeddings -> one biLSTM -> a linear layer at one word.

    The comparison for ELMo's data efficiency: the same kind of task model, with no pretraining.
    ``forward(word_ids (B, T), index (B,))`` -> logits (B, n_classes).
    """

    def __init__(self, vocab_size: int, n_classes: int, d: int = 32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d, padding_idx=0)
        self.lstm = nn.LSTM(d, d, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * d, n_classes)

    def forward(self, word_ids, index):
        h, _ = self.lstm(self.embedding(word_ids))  # (B, T, 2d)
        return self.out(h[torch.arange(len(index)), index])


def scratch_accuracy(
    tok: ELMoTokenizer,
    train_sents,
    train_index,
    train_y,
    test_sents,
    test_index,
    test_y,
    d: int = 32,
    steps: int = 200,
    lr: float = 1e-2,
    seed: int = 0,
) -> float:
    """Train a :class:`ScratchClassifier` on the labelled words and return its test accuracy.

    Sentences are word lists; ``*_index`` counts words from 0. Example: see the chapter's data-efficiency plot.
    """
    torch.manual_seed(seed)
    tr, te = tok.batch(train_sents), tok.batch(test_sents)
    ytr, yte = torch.as_tensor(train_y).long(), torch.as_tensor(test_y).long()
    model = ScratchClassifier(tok.vocab_size, int(max(ytr.max(), yte.max())) + 1, d)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    itr, ite = torch.as_tensor(train_index) + 1, torch.as_tensor(test_index) + 1  # +1: <S>
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(model(tr["word_ids"], itr), ytr)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((model(te["word_ids"], ite).argmax(-1) == yte).float().mean())


def ngram_perplexity(train, test, n: int = 2, direction: str = "forward", k: float = 0.1) -> float:
    """Perplexity of an add-``k`` smoothed unigram (``n=1``) or bigram (``n=2``) model, as a baseline.

    ``train``/``test``: sentences (strings or word lists). The same tokens are scored as by
    :func:`perplexity`: every word plus ``</S>`` (forward; the previous word is the context) or
    ``<S>`` (backward; the next word is the context).
    Example: ``ngram_perplexity(ds["train"]["text"], ds["validation"]["text"], n=2)``
    """
    if n not in (1, 2):
        raise ValueError(f"n must be 1 (unigram) or 2 (bigram), got {n!r}")
    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    if k <= 0:
        raise ValueError(f"k (add-k smoothing) must be > 0, got {k}")

    def seqs(sents):
        for s in sents:
            w = ["<S>"] + (s.split() if isinstance(s, str) else list(s)) + ["</S>"]
            yield w if direction == "forward" else w[::-1]

    vocab = {w for s in seqs(train) for w in s} | {"<UNK>"}
    unigram, bigram, context = Counter(), Counter(), Counter()
    for s in seqs(train):
        for a, b in zip(s, s[1:]):
            unigram[b] += 1
            bigram[a, b] += 1
            context[a] += 1
    V, N = len(vocab), sum(unigram.values())
    nll, count = 0.0, 0
    for s in seqs(test):
        s = [w if w in vocab else "<UNK>" for w in s]
        for a, b in zip(s, s[1:]):
            if n == 1:
                p = (unigram[b] + k) / (N + k * V)
            else:
                p = (bigram[a, b] + k) / (context[a] + k * V)
            nll -= math.log(p)
            count += 1
    return math.exp(nll / count)
