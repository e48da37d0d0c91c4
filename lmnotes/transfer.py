"""One encoder, many tasks, few labels: frozen features, two baselines and learning curves.

The representation-learning chapter asks how many labels a task needs when it starts from
representations learned on unlabelled text. The pieces:

* :func:`task_data`: four tasks on the world, each a labelled **pool** (labels are drawn from it) and a
  **test** set: ``sentiment`` of a review, the ``part of speech`` of a noun/verb word, the ``word sense``
  of an ambiguous word, and ``taxonomy``: the category of an animal or plant *never seen labelled*.
* :func:`features`: frozen per-layer features ``(L, N, D)`` of the word each example asks about, from
  static :class:`~lmnotes.wordvectors.WordVectors` or the zoo's encoders (``elmo-world``, ``bert-world``,
  ``gpt-world``), through the package's feature functions (:mod:`lmnotes.analysis`) and, for the GPT,
  :func:`gpt_features`. A sentence task reads the mean of the vectors of its words, layer by layer.
* baselines: :func:`bag_of_words` features, and a task model trained end to end on the labels alone
  (:func:`scratch_score`, the chapter's embeddings + biLSTM :class:`~lmnotes.analysis.ScratchClassifier`).
* :func:`balanced_draw` and :func:`learning_curve`: accuracy against the number of labels, over several
  random draws; :func:`probe_score` scores a draw with a linear probe on frozen features.

Example::

    task = task_data("sentiment", n=1000, seed=0)
    model, tok = lmnotes.pretrained("gpt-world")
    X_pool = flat(features(model, tok, task.pool, task.level))      # (N, L * D)
    X_test = flat(features(model, tok, task.test, task.level))
    curve = learning_curve(probe_score(X_pool, task.pool.labels, X_test, task.test.labels),
                           task.pool.labels, budgets=[8, 32, 128], seeds=[0, 1, 2])   # {8: [acc, acc, acc], ...}
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .analysis import contextual_vectors, probe_accuracy, scratch_accuracy, word_features
from .data.batching import pad_batch
from .utils import eval_mode
from .wordvectors import WordVectors

__all__ = [
    "TASKS",
    "Examples",
    "Task",
    "task_data",
    "features",
    "gpt_features",
    "flat",
    "bag_of_words",
    "balanced_draw",
    "learning_curve",
    "probe_score",
    "scratch_score",
]

TASKS = ("sentiment", "part of speech", "word sense", "taxonomy")


@dataclass
class Examples:
    """Labelled examples: ``words`` (sentences as word lists), ``index`` (the word each asks about),
    ``labels`` (N,) class ids."""

    words: list[list[str]]
    index: list[int]
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.words)

    def select(self, rows) -> Examples:
        rows = torch.as_tensor(rows).long().tolist()
        return Examples([self.words[i] for i in rows], [self.index[i] for i in rows], self.labels[rows])


@dataclass
class Task:
    """A task: its ``name``, ``level`` ("sentence" or "word"), ``label_names``, the labelled ``pool`` that
    budgets are drawn from, and the ``test`` set."""

    name: str
    level: str
    label_names: list[str]
    pool: Examples
    test: Examples


def _examples(rows, label_names, index_of) -> Examples:
    return Examples(
        [list(r["words"]) for r in rows],
        [index_of(r) for r in rows],
        torch.tensor([label_names.index(str(r["label"])) for r in rows]),
    )


def task_data(name: str, n: int = 1000, seed: int = 0, test_share: float = 0.25) -> Task:
    """The labelled pool and test set of one of :data:`TASKS`, from the world at ``seed``.

    ``n`` sentences (``test_share`` of them for the test set), labels balanced by the world's generators:

    * ``"sentiment"``: reviews, positive or negative (a sentence task: ``index`` is the last word);
    * ``"part of speech"``: noun or verb, for ``watch``, ``duck``, ... (decided by the neighbouring word);
    * ``"word sense"``: the sense of ``bank``, ``bat``, ``crane`` or ``plant`` (eight senses), its cue 1 to 8
      words away on either side;
    * ``"taxonomy"``: the category of an animal or plant in ``the X .``: two members of each category are
      held out for the test set (which ones depends on ``seed``), so a test word is never seen labelled
      (``n`` is ignored: there are 37 entities).

    Example: ``task = task_data("word sense", n=800, seed=0); task.pool.words[0], task.label_names``
    """
    from .data import World, pos_corpus, reviews, sense_corpus

    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; the tasks are {list(TASKS)}")
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be in (0, 1), got {test_share!r}")
    if name == "taxonomy":
        world = World(seed)
        rng = random.Random(seed)
        cats = world.categories
        test_ents = {e for c in cats for e in rng.sample(world.members(c), 2)}
        pool = [e for e in world.entities if e not in test_ents]

        def frame(ents):  # "the robin ." asks about word 1
            labels = torch.tensor([cats.index(world.category_of(e)) for e in ents])
            return Examples([["the", e, "."] for e in ents], [1] * len(ents), labels)

        return Task(name, "word", cats, frame(pool), frame(sorted(test_ents)))
    if not isinstance(n, int) or n < 20:
        raise ValueError(f"n must be an int >= 20 (sentences for the pool and the test set), got {n!r}")
    split = (1 - test_share, 0.0, test_share)
    if name == "sentiment":
        ds = reviews(n, seed=seed, split=split)
        names = ["negative", "positive"]
        rows = {s: [{**r, "label": names[int(r["label"])]} for r in ds[s]] for s in ("train", "test")}

        def last_word(r):
            return len(r["words"]) - 1

        return Task(
            name,
            "sentence",
            names,
            _examples(rows["train"], names, last_word),
            _examples(rows["test"], names, last_word),
        )
    ds = (
        pos_corpus(n, seed=seed, split=split)
        if name == "part of speech"
        else sense_corpus(n, seed=seed, cue_side="random", cue_distance=(1, 8), split=split)
    )
    names = sorted(set(ds["train"]["label"]) | set(ds["test"]["label"]))

    def target(r):
        return int(r["target_index"])

    return Task(
        name,
        "word",
        names,
        _examples(list(ds["train"]), names, target),
        _examples(list(ds["test"]), names, target),
    )


# ---------------------------------------------------------------------------------------------
# Frozen features, one shape for every encoder: (L, N, D)
# ---------------------------------------------------------------------------------------------


def _check_index(sentences, index):
    if index is None:
        return
    if len(index) != len(sentences):
        raise ValueError(
            f"index needs one position per sentence: {len(index)} for {len(sentences)} sentences"
        )
    for n, (words, j) in enumerate(zip(sentences, index)):
        if not 0 <= int(j) < len(words):
            raise ValueError(f"index[{n}] = {j} is outside sentence {n}, which has {len(words)} words")


@torch.no_grad()
def gpt_features(
    model,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    index: Sequence[int] | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Hidden states of a GPT at every layer: (n_layer + 1, N, C), on the CPU.

    With ``index``: the vector of word ``index[i]`` of sentence ``i``; without: the mean over the sentence's
    words. The model reads ``[BOS] w_1 .. w_n`` (as in its training) with a word-level tokenizer, so word
    ``j`` is at position ``j + 1``. The layers are the model's ``hidden_states``: the embeddings, then each
    block's output (the last after the final layer norm). A causal model's vector of word ``j`` has seen
    the words up to ``j`` only.
    Example: ``gpt_features(model, tok, [["the", "river", "bank", "."]], [2])  # (3, 1, 128)``
    """
    _check_index(sentences, index)
    device = next(model.parameters()).device
    layers: list[list[torch.Tensor]] = []
    with eval_mode(model):
        for s in range(0, len(sentences), batch_size):
            chunk = sentences[s : s + batch_size]
            ids = []
            for words in chunk:
                seq = [tokenizer.bos_id] + tokenizer.encode(" ".join(words))
                if len(seq) != len(words) + 1:
                    raise ValueError(
                        "gpt_features needs a word-level tokenizer (one token per word), like gpt-world's"
                    )
                ids.append(seq)
            batch = pad_batch(ids, pad_id=tokenizer.pad_id)
            out = model(
                batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
                output_hidden_states=True,
            )
            # words sit at positions 1..n: weights (B, T) pick one word, or average the words
            weights = torch.zeros(batch["input_ids"].shape)
            for n, words in enumerate(chunk):
                if index is None:
                    weights[n, 1 : len(words) + 1] = 1 / len(words)
                else:
                    weights[n, int(index[s + n]) + 1] = 1.0
            for layer, h in enumerate(out.hidden_states):
                if len(layers) <= layer:
                    layers.append([])
                layers[layer].append(torch.einsum("bt,btc->bc", weights, h.float().cpu()))
    return torch.stack([torch.cat(x) for x in layers])  # (L, N, C)


@torch.no_grad()
def _bert_mean(model, tokenizer, sentences, batch_size: int = 256) -> torch.Tensor:
    """BERT's hidden states averaged over each sentence's words (the first sub-word of each): (L, N, C)."""
    from .recipes.bert import encode_words

    bert = getattr(model, "bert", model)
    device = next(bert.parameters()).device
    layers: list[list[torch.Tensor]] = []
    with eval_mode(bert):
        for s in range(0, len(sentences), batch_size):
            chunk = [list(w) for w in sentences[s : s + batch_size]]
            enc = encode_words(tokenizer, chunk, labels=[[1] * len(w) for w in chunk])
            first = (enc["labels"] == 1).float()  # (B, T): the first sub-word of every word
            weights = first / first.sum(1, keepdim=True)
            out = bert(
                enc["input_ids"].to(device),
                attention_mask=enc["attention_mask"].to(device),
                output_hidden_states=True,
            )
            for layer, h in enumerate(out.hidden_states):
                if len(layers) <= layer:
                    layers.append([])
                layers[layer].append(torch.einsum("bt,btc->bc", weights, h.float().cpu()))
    return torch.stack([torch.cat(x) for x in layers])


def _static(wv: WordVectors, ex: Examples, level: str) -> torch.Tensor:
    D = wv.vectors.shape[1]
    out = torch.zeros(len(ex), D)
    for n, (words, j) in enumerate(zip(ex.words, ex.index)):
        known = [w for w in (words if level == "sentence" else [words[j]]) if w in wv]
        if known:
            out[n] = wv.lookup(known).mean(0)
    return out[None]  # (1, N, D)


def features(encoder, tokenizer, examples: Examples, level: str = "word") -> torch.Tensor:
    """Frozen features of ``examples`` at every layer of ``encoder``: (L, N, D), on the CPU.

    ``level="word"``: the vector of the word ``examples.index`` points at; ``level="sentence"``: the mean of
    the vectors of all the sentence's words, layer by layer. ``encoder``:
    :class:`~lmnotes.wordvectors.WordVectors` (one layer; zeros for unknown words), an ELMo ``BiLM``
    (:func:`lmnotes.analysis.contextual_vectors`), a BERT (:func:`lmnotes.analysis.word_features`) or a GPT
    (:func:`gpt_features`).
    Example: ``X = features(model, tok, task.pool, task.level)``
    """
    from .models.bert import Bert, BertForPreTraining
    from .models.elmo import BiLM
    from .models.gpt import GPT

    if level not in ("word", "sentence"):
        raise ValueError(f'level must be "word" or "sentence", got {level!r}')
    _check_index(examples.words, examples.index)
    if isinstance(encoder, WordVectors):
        return _static(encoder, examples, level)
    if isinstance(encoder, BiLM):
        if level == "sentence":
            return torch.stack([v.mean(1) for v in contextual_vectors(encoder, tokenizer, examples.words)], 1)
        return contextual_vectors(encoder, tokenizer, examples.words, index=examples.index)
    if isinstance(encoder, (Bert, BertForPreTraining)):
        if level == "sentence":
            return _bert_mean(encoder, tokenizer, examples.words)
        return word_features(encoder, tokenizer, examples.words, examples.index)
    if isinstance(encoder, GPT):
        return gpt_features(encoder, tokenizer, examples.words, examples.index if level == "word" else None)
    raise TypeError(
        f"features() reads WordVectors, an ELMo BiLM, a BERT or a GPT; got {type(encoder).__name__}"
    )


def flat(layers: torch.Tensor) -> torch.Tensor:
    """(L, N, D) per-layer features -> (N, L * D): every layer side by side, for one linear probe."""
    layers = torch.as_tensor(layers)
    if layers.dim() != 3:
        raise ValueError(f"layers must be (L, N, D), got shape {tuple(layers.shape)}")
    return layers.permute(1, 0, 2).reshape(layers.shape[1], -1)


def bag_of_words(pool: Examples, test: Examples) -> tuple[torch.Tensor, torch.Tensor]:
    """Word counts of each sentence over the pool's vocabulary: ``(pool (N, V), test (M, V))``.

    A word that occurs only in test sentences has no column: the baseline knows nothing about it.
    Example: ``X_pool, X_test = bag_of_words(task.pool, task.test)``
    """
    vocab = sorted({w for s in pool.words for w in s})
    ix = {w: i for i, w in enumerate(vocab)}

    def counts(ex):
        X = torch.zeros(len(ex), len(vocab))
        for n, s in enumerate(ex.words):
            for w in s:
                if w in ix:
                    X[n, ix[w]] += 1
        return X

    return counts(pool), counts(test)


# ---------------------------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------------------------


def balanced_draw(labels, n: int, seed: int = 0) -> torch.Tensor:
    """Row numbers of ``n`` examples drawn at random without replacement, ``n / n_classes`` of each class.

    ``n`` must be a multiple of the number of classes in ``labels``, and each class must have enough rows.
    Example: ``balanced_draw(torch.tensor([0, 0, 1, 1, 1]), 2, seed=0)  # one row of each class``
    """
    y = torch.as_tensor(labels).long()
    if y.dim() != 1 or len(y) == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence of class ids, got shape {tuple(y.shape)}")
    classes = torch.unique(y)
    k = len(classes)
    if not isinstance(n, int) or isinstance(n, bool) or n < k or n % k:
        raise ValueError(
            f"n must be a positive multiple of the {k} classes (the same number of labels of each), got {n!r}"
        )
    per = n // k
    g = torch.Generator().manual_seed(seed)
    rows = []
    for c in classes:
        idx = torch.nonzero(y == c).flatten()
        if len(idx) < per:
            raise ValueError(
                f"class {int(c)} has {len(idx)} examples in the pool; a budget of {n} needs {per} of "
                f"each class. Use a smaller budget or a larger pool"
            )
        rows.append(idx[torch.randperm(len(idx), generator=g)[:per]])
    return torch.cat(rows)


def learning_curve(
    score: Callable[[torch.Tensor, int], float], labels, budgets: Sequence[int], seeds: Sequence[int]
) -> dict[int, list[float]]:
    """Accuracy against the number of labels: ``{budget: [score(rows, seed) for seed in seeds]}``.

    For every budget ``n`` and seed, ``rows = balanced_draw(labels, n, seed)`` picks the labelled examples
    and ``score(rows, seed)`` trains on them and returns the test accuracy (:func:`probe_score`,
    :func:`scratch_score`, or your own).
    Example: ``learning_curve(probe_score(X, y, X_test, y_test), y, budgets=[8, 32], seeds=[0, 1, 2])``
    """
    if not budgets or not seeds:
        raise ValueError("give at least one budget and one seed")
    return {
        int(n): [float(score(balanced_draw(labels, int(n), int(s)), int(s))) for s in seeds] for n in budgets
    }


def probe_score(pool_X, pool_y, test_X, test_y, **probe_kwargs) -> Callable[[torch.Tensor, int], float]:
    """``score(rows, seed)`` for :func:`learning_curve`: a linear probe (:func:`lmnotes.analysis.probe_accuracy`)
    trained on ``pool_X[rows]`` and scored on the test set.

    Features are standardised with the mean and standard deviation of the whole pool, which needs no labels
    (a handful of labelled rows would give a poor estimate of a feature's spread).
    Example: ``score = probe_score(X_pool, task.pool.labels, X_test, task.test.labels); score(rows, 0)``
    """
    X = torch.as_tensor(pool_X).float()
    Xt = torch.as_tensor(test_X).float()
    if X.dim() != 2 or Xt.dim() != 2 or X.shape[1] != Xt.shape[1]:
        raise ValueError(
            f"pool_X and test_X must be (N, D) and (M, D) with the same D, got {tuple(X.shape)} "
            f"and {tuple(Xt.shape)}; flatten per-layer features with flat()"
        )
    if len(X) != len(pool_y):
        raise ValueError(f"pool_X has {len(X)} rows but pool_y {len(pool_y)} labels")
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X, Xt = (X - mu) / sd, (Xt - mu) / sd
    y = torch.as_tensor(pool_y).long()
    kwargs = {"standardize": False, **probe_kwargs}

    def score(rows, seed):
        return probe_accuracy(X[rows], y[rows], Xt, test_y, seed=seed, **kwargs)

    return score


def scratch_score(
    task: Task, d: int = 32, steps: int = 100, lr: float = 1e-2
) -> Callable[[torch.Tensor, int], float]:
    """``score(rows, seed)`` for :func:`learning_curve`: the task model trained end to end on the drawn
    examples only (word embeddings, a biLSTM, a linear layer at the word read; no pretraining), scored on the
    test set (:func:`lmnotes.analysis.scratch_accuracy`). Its vocabulary is the pool's words: a word seen
    only in the test set is unknown to it.
    Example: ``learning_curve(scratch_score(task), task.pool.labels, [8, 32], [0, 1, 2])``
    """
    from .data import ELMoTokenizer

    tok = ELMoTokenizer().train([" ".join(s) for s in task.pool.words])

    def score(rows, seed):
        tr = task.pool.select(rows)
        return scratch_accuracy(
            tok,
            tr.words,
            tr.index,
            tr.labels,
            task.test.words,
            task.test.index,
            task.test.labels,
            d=d,
            steps=steps,
            lr=lr,
            seed=seed,
        )

    return score
