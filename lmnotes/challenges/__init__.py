"""What the challenges chapter measures: tiny GPTs trained on a knob of the world, and the metrics that score them.

Read top to bottom:

* **training** — :func:`train_tiny_gpt` (next-token loss on whole texts) and :func:`train_answer_gpt` (loss on
  the answers only), both through the package's ``GPT`` and ``lmnotes.train.fit``;
* **reading the model** — :func:`next_word_probs`, :func:`answer_report` (top answer, confidence, entropy),
  :func:`greedy_answers`, :func:`token_log_probs`, and for a BERT :func:`masked_word_probs`;
* **memorisation** — :func:`secret_log_probs` (every candidate secret, by enumeration), :func:`rank_of`,
  :func:`exposure` (Carlini et al., 2019);
* **contamination** — :func:`ngrams`, :func:`ngram_index`, :func:`contaminated` (an n-gram overlap check in the
  style of GPT-3's), :func:`auc`, :func:`min_k_score` (Min-K% probability, Shi et al., 2024);
* **calibration** — :func:`entropy`, :func:`calibration_bins`, :func:`expected_calibration_error`,
  :func:`selective_accuracy` (answer only below an entropy threshold).

Example::

    from lmnotes import challenges
    from lmnotes.data.challenges import relation_corpus
    data = relation_corpus(40, seed=0)
    model, tok, history = challenges.train_tiny_gpt(data["texts"], seed=0)
    challenges.answer_report(model, tok, ["the partner of kalo is"], ["miru"])["correct"]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..data.batching import pad_batch
from ..data.tokenizers import WordTokenizer
from ..models.gpt import GPT, GPTConfig
from ..recipes.gpt import instruction_batches, lm_batches, lm_stream
from ..train import fit
from ..utils import eval_mode

__all__ = [
    "TINY_GPT",
    "train_tiny_gpt",
    "train_answer_gpt",
    "next_word_probs",
    "answer_report",
    "greedy_answers",
    "token_log_probs",
    "masked_word_probs",
    "secret_log_probs",
    "rank_of",
    "exposure",
    "ngrams",
    "ngram_index",
    "contaminated",
    "auc",
    "min_k_score",
    "entropy",
    "calibration_bins",
    "expected_calibration_error",
    "selective_accuracy",
]

# Small enough that a run takes seconds on one CPU thread; the notebooks scale it up on a GPU.
TINY_GPT = {
    "block_size": 16,
    "n_layer": 2,
    "n_head": 4,
    "d_model": 64,
    "steps": 600,
    "batch_size": 32,
    "lr": 3e-3,
}


def _check_texts(name, texts):
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, got one str; wrap it in a list: [text]")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty: there is nothing to use")
    if not all(isinstance(t, str) for t in texts):
        raise TypeError(f"{name} must hold strings only")
    return texts


def _config(overrides: dict) -> dict:
    unknown = set(overrides) - set(TINY_GPT)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; a tiny GPT takes {sorted(TINY_GPT)}")
    return {**TINY_GPT, **overrides}


def _new_model(tok, c: dict, seed: int) -> GPT:
    torch.manual_seed(seed)
    return GPT(
        GPTConfig(
            vocab_size=tok.vocab_size,
            block_size=c["block_size"],
            n_layer=c["n_layer"],
            n_head=c["n_head"],
            d_model=c["d_model"],
        )
    )


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def train_tiny_gpt(
    texts: Sequence[str],
    seed: int = 0,
    vocab_texts: Sequence[str] = (),
    device=None,
    progress: bool = False,
    eval_fn=None,
    eval_every: int | None = None,
    **config,
):
    """Train a small GPT on ``texts`` (each ``[BOS] text [EOS]``, random windows of the joined stream).

    The word tokenizer is built from ``texts`` and ``vocab_texts`` (words the model is asked about but never
    trained on). ``config`` overrides :data:`TINY_GPT`. ``seed`` decides the initial weights and the batches.
    ``eval_fn(model, tokenizer) -> {name: float}`` runs every ``eval_every`` steps and at the end; its values are
    in the history as ``"eval_" + name``. Returns ``(model, tokenizer, history)``, the model in eval mode.

    Example: ``model, tok, history = train_tiny_gpt(["a robin can fly ."] * 100, steps=50)``
    """
    texts = _check_texts("texts", texts)
    c = _config(config)
    tok = WordTokenizer().train(texts + list(vocab_texts))
    model = _new_model(tok, c, seed)
    stream = lm_stream(texts, tok)
    if len(stream) < c["block_size"] + 2:
        raise ValueError(
            f"the texts hold {len(stream)} tokens, too few for windows of {c['block_size']}; "
            "give more texts or a smaller block_size"
        )
    batches = lm_batches(stream, c["block_size"], c["batch_size"], seed=seed)
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(
            f"eval_fn must be a function (model, tokenizer) -> dict, got {type(eval_fn).__name__}"
        )
    history = fit(
        model,
        batches,
        steps=c["steps"],
        lr=c["lr"],
        device=device,
        progress=progress,
        warmup=0.05,
        eval_fn=(lambda m: eval_fn(m, tok)) if eval_fn is not None else None,
        eval_every=eval_every,
    )
    return model.eval(), tok, history


def train_answer_gpt(
    rows: Sequence[dict],
    seed: int = 0,
    vocab_texts: Sequence[str] = (),
    device=None,
    progress: bool = False,
    **config,
):
    """Train a small GPT to answer: each row is ``{"prompt", "answer"}``, read as ``[BOS] prompt answer : answer
    [EOS]``, with the loss on the answer and ``[EOS]`` only (the prompt is given, not predicted).

    Returns ``(model, tokenizer, history)``. Example: ``train_answer_gpt([{"prompt": "jump twice",
    "answer": "JUMP JUMP"}], steps=50)``
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: there is nothing to train on")
    if not all(isinstance(r, dict) and "prompt" in r and "answer" in r for r in rows):
        raise ValueError("each row must be a dict with 'prompt' and 'answer'")
    c = _config(config)
    tok = WordTokenizer().train([f"{r['prompt']} answer : {r['answer']}" for r in rows] + list(vocab_texts))
    longest = max(len(tok.encode(f"{r['prompt']} answer : {r['answer']}")) + 2 for r in rows)
    if longest - 1 > c["block_size"]:
        raise ValueError(
            f"the longest row has {longest} tokens with [BOS] and [EOS]; set block_size >= {longest}"
        )
    model = _new_model(tok, c, seed)
    history = fit(
        model,
        instruction_batches(rows, tok, c["batch_size"], seed=seed),
        steps=c["steps"],
        lr=c["lr"],
        device=device,
        progress=progress,
        warmup=0.05,
    )
    return model.eval(), tok, history


# ---------------------------------------------------------------------------------------------
# Reading the model
# ---------------------------------------------------------------------------------------------


def _device(model):
    return next(model.parameters()).device


def _padded(seqs: list[list[int]], pad_id: int, device):
    batch = pad_batch(seqs, pad_id=pad_id)  # (B, T) ids and attention mask, right-padded
    return batch["input_ids"].to(device), batch["attention_mask"].to(device)


@torch.no_grad()
def next_word_probs(model, tok, prompts: Sequence[str], batch_size: int = 512) -> torch.Tensor:
    """(N, V): the model's distribution over the word after ``[BOS] prompt``, for each prompt.

    Example: ``next_word_probs(model, tok, ["a robin is a"])[0, tok.token_to_id("bird")]``
    """
    prompts = _check_texts("prompts", prompts)
    with eval_mode(model):
        out = []
        for s in range(0, len(prompts), batch_size):
            seqs = [[tok.bos_id] + tok.encode(p) for p in prompts[s : s + batch_size]]
            x, m = _padded(seqs, tok.pad_id, _device(model))
            logits = model(x, attention_mask=m).logits  # (B, T, V)
            last = torch.tensor(
                [len(ids) - 1 for ids in seqs], device=x.device
            )  # right padding: last real token
            out.append(logits[torch.arange(len(seqs), device=x.device), last].float().softmax(-1).cpu())
    return torch.cat(out)


def entropy(probs: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy in nats, ``-sum p log p`` along ``dim`` (0 log 0 counts as 0).

    Example: ``entropy(torch.tensor([0.5, 0.5]))`` → ``tensor(0.6931)`` (ln 2)
    """
    if not torch.is_tensor(probs):
        raise TypeError(f"probs must be a tensor, got {type(probs).__name__}")
    if (probs < 0).any() or not torch.allclose(probs.sum(dim), torch.ones(()), atol=1e-3):
        raise ValueError("probs must be non-negative and sum to 1 along dim; apply softmax to logits first")
    return -(probs * probs.clamp_min(1e-30).log()).sum(dim)


def answer_report(model, tok, prompts: Sequence[str], answers: Sequence[str] | None = None) -> dict:
    """What the model says after each prompt, and how sure it is.

    Returns lists: ``predicted`` (the most likely word), ``confidence`` (its probability), ``entropy`` (of the whole
    next-word distribution, nats), and with ``answers``: ``p_answer`` (the probability of the right word) and
    ``correct`` (predicted == answer). Example: ``answer_report(model, tok, ["kalo lives in"], ["rome"])``
    """
    prompts = _check_texts("prompts", prompts)
    p = next_word_probs(model, tok, prompts)
    top = p.max(-1)
    out = {
        "predicted": [tok.id_to_token(i) for i in top.indices.tolist()],
        "confidence": top.values.tolist(),
        "entropy": entropy(p).tolist(),
    }
    if answers is not None:
        answers = list(answers)
        if len(answers) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers; give one answer per prompt")
        ids = []
        for a in answers:
            enc = tok.encode(a)
            if len(enc) != 1 or enc[0] == tok.unk_id:
                raise ValueError(
                    f"answer {a!r} is not one word of the vocabulary; pass its word as it is written"
                )
            ids.append(enc[0])
        out["p_answer"] = p[torch.arange(len(ids)), torch.tensor(ids)].tolist()
        out["correct"] = [w == a for w, a in zip(out["predicted"], answers)]
    return out


@torch.no_grad()
def greedy_answers(
    model, tok, prompts: Sequence[str], max_new_tokens: int = 16, suffix: str = " answer :"
) -> list[str]:
    """Greedy continuation of ``[BOS] prompt + suffix`` up to ``[EOS]``, decoded (the answer a model trained by
    :func:`train_answer_gpt` gives). Prompts of one length share a batch.

    Example: ``greedy_answers(model, tok, ["jump twice"])`` → ``["JUMP JUMP"]``
    """
    prompts = _check_texts("prompts", prompts)
    groups: dict[int, list[int]] = {}
    encoded = [[tok.bos_id] + tok.encode(p + suffix) for p in prompts]
    for i, ids in enumerate(encoded):
        groups.setdefault(len(ids), []).append(i)
    answers = [""] * len(prompts)
    for length, members in groups.items():
        x = torch.tensor([encoded[i] for i in members], device=_device(model))
        out = model.generate(x, max_new_tokens, temperature=0.0, stop_token=tok.eos_id)
        for i, row in zip(members, out[:, length:].tolist()):
            row = row[: row.index(tok.eos_id)] if tok.eos_id in row else row
            answers[i] = tok.decode(row)
    return answers


@torch.no_grad()
def masked_word_probs(
    model, tok, texts: Sequence[str], contexts: Sequence[str | None] | None = None
) -> torch.Tensor:
    """(N, V): a BERT's distribution over the word at the one ``[MASK]`` of each text.

    With ``contexts``, each text is the second segment of a pair, ``[CLS] context [SEP] text [SEP]``, the way BERT
    reads two sentences of one document in pretraining (``None`` for a text read alone, ``[CLS] text [SEP]``).
    Example: ``masked_word_probs(bert, tok, ["a robin is a [MASK] ."], ["a robin is a fish ."])``
    """
    texts = _check_texts("texts", texts)
    contexts = [None] * len(texts) if contexts is None else list(contexts)
    if len(contexts) != len(texts):
        raise ValueError(
            f"{len(texts)} texts but {len(contexts)} contexts; give one context (or None) per text"
        )
    with eval_mode(model):
        out = []
        for text, context in zip(texts, contexts):
            ids, seg = tok.encode_pair(context, text) if context is not None else tok.encode_pair(text)
            where = [i for i, t in enumerate(ids) if t == tok.mask_id]
            if len(where) != 1 or (context is not None and tok.mask_id in tok.encode(context)):
                raise ValueError(
                    f"each text needs exactly one [MASK] (and its context none), got {text!r} / {context!r}"
                )
            x = torch.tensor([ids], device=_device(model))
            logits = model(x, torch.tensor([seg], device=x.device)).mlm_logits[0, where[0]]  # (V,)
            out.append(logits.float().softmax(-1).cpu())
    return torch.stack(out)


@torch.no_grad()
def token_log_probs(model, tok, texts: Sequence[str], batch_size: int = 256) -> list[torch.Tensor]:
    """For each text, the log-probability of each of its tokens given the ones before (after ``[BOS]``): a list of
    1-D tensors, one per text. Their negative mean is the text's loss.

    Example: ``-token_log_probs(model, tok, ["a robin can fly ."])[0].mean()``
    """
    texts = _check_texts("texts", texts)
    with eval_mode(model):
        out = []
        for s in range(0, len(texts), batch_size):
            seqs = [[tok.bos_id] + tok.encode(t) for t in texts[s : s + batch_size]]
            if max(map(len, seqs)) > model.config.block_size:
                raise ValueError(
                    f"a text has {max(map(len, seqs))} tokens with [BOS], longer than the model's context "
                    f"of {model.config.block_size}"
                )
            x, m = _padded(seqs, tok.pad_id, _device(model))
            lp = model(x, attention_mask=m).logits.float().log_softmax(-1)  # (B, T, V)
            got = lp[:, :-1].gather(-1, x[:, 1:, None])[..., 0].cpu()  # (B, T - 1): log p(x_t | x_<t)
            out += [got[b, : len(ids) - 1] for b, ids in enumerate(seqs)]
    return out


# ---------------------------------------------------------------------------------------------
# Memorisation: every candidate secret, ranks, exposure
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def secret_log_probs(
    model, tok, prefix: str, n_digits: int = 4, alphabet: str = "0123456789", batch_size: int = 4096
) -> torch.Tensor:
    """log p(secret | ``[BOS] prefix``) for every secret of ``n_digits`` symbols of ``alphabet`` (each symbol one
    word): a tensor of ``len(alphabet) ** n_digits`` values, candidate ``i`` being ``i`` written in that base
    (``"0 0 4 2"`` is candidate 42).

    Computed by enumeration, one digit at a time: the contexts of digit ``j`` are the ``10 ** j`` prefixes of
    the candidates, so the cost is about ``10 ** (n_digits - 1)`` short forward passes.
    Example: ``lp = secret_log_probs(model, tok, "the code of kalo is"); int(lp.argmax())``
    """
    if not isinstance(n_digits, int) or not 1 <= n_digits <= 6:
        raise ValueError(f"n_digits must be an int in [1, 6], got {n_digits!r}")
    if len(set(alphabet)) != len(alphabet) or not alphabet:
        raise ValueError(f"alphabet must be distinct symbols, got {alphabet!r}")
    sym = [tok.token_to_id(a) for a in alphabet]
    if tok.unk_id in sym:
        raise ValueError(f"every symbol of {alphabet!r} must be a word of the vocabulary")
    head = [tok.bos_id] + tok.encode(prefix)
    if len(head) + n_digits - 1 > model.config.block_size:
        raise ValueError(
            f"prefix and secret need {len(head) + n_digits - 1} positions, the context is "
            f"{model.config.block_size}"
        )
    with eval_mode(model):
        device = _device(model)
        sym_t = torch.tensor(sym, device=device)
        K = len(alphabet)
        total = torch.zeros(1, device=device)  # log p of every candidate prefix of length j, in base-K order
        for j in range(n_digits):
            # contexts: head + every sequence of j symbols, in base-K order (the first symbol varies slowest)
            n = K**j
            digits = (
                torch.arange(n, device=device)[:, None]
                // (K ** torch.arange(j - 1, -1, -1, device=device))
                % K
            )
            ctx = torch.cat(
                [torch.tensor(head, device=device).expand(n, -1), sym_t[digits]], 1
            )  # (n, len(head) + j)
            step = []
            for s in range(0, n, batch_size):
                lp = model.next_token_logits(ctx[s : s + batch_size]).float().log_softmax(-1)  # (b, V)
                step.append(lp[:, sym_t])  # (b, K)
            total = (total[:, None] + torch.cat(step)).reshape(-1)  # (n * K,)
    return total.cpu()


def rank_of(log_probs: torch.Tensor, index: int) -> int:
    """The rank of candidate ``index`` when the candidates are sorted from most to least likely (1 = the most
    likely; a tie counts in the candidate's favour).

    Example: ``rank_of(torch.tensor([-1., -3., -2.]), 2)`` → 2
    """
    if not torch.is_tensor(log_probs) or log_probs.dim() != 1:
        raise ValueError("log_probs must be a 1-D tensor with one value per candidate")
    if not isinstance(index, int) or not 0 <= index < len(log_probs):
        raise ValueError(f"index must be an int in [0, {len(log_probs) - 1}], got {index!r}")
    return int((log_probs > log_probs[index]).sum()) + 1


def exposure(rank, n_candidates: int):
    """Carlini et al.'s exposure in bits: ``log2(n_candidates) - log2(rank)``. 0 for the least likely candidate,
    ``log2(n_candidates)`` for the most likely; about ``log2(e) ≈ 1.44`` on average for a secret the model never
    saw (its rank is then uniform). ``rank`` may be an int, a list or a tensor of ranks (1-based).

    Example: ``exposure(1, 10_000)`` → 13.29; ``exposure([1, 100], 10_000)`` → ``[13.29, 6.64]``
    """
    if not isinstance(n_candidates, int) or n_candidates < 1:
        raise ValueError(f"n_candidates must be an int >= 1, got {n_candidates!r}")
    ranks = torch.as_tensor(rank, dtype=torch.float64)
    if (ranks < 1).any() or (ranks > n_candidates).any() or (ranks != ranks.round()).any():
        raise ValueError(
            f"ranks are whole numbers from 1 (most likely) to n_candidates={n_candidates}, got {rank!r}"
        )
    e = math.log2(n_candidates) - torch.log2(ranks)
    return float(e) if e.dim() == 0 else e.tolist()


# ---------------------------------------------------------------------------------------------
# Contamination: n-gram overlap and membership inference
# ---------------------------------------------------------------------------------------------


def ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """The set of ``n``-grams (tuples of ``n`` consecutive words) of ``words``; empty when it is shorter than ``n``.

    Example: ``ngrams("a b c".split(), 2)`` → ``{("a", "b"), ("b", "c")}``
    """
    if isinstance(words, str):
        raise TypeError("words must be a list of words; split the text first: text.split()")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    words = list(words)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def ngram_index(texts: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """Every ``n``-gram of every text (split on whitespace): the index a contamination check looks items up in.

    Example: ``ngram_index(["a b c", "b c d"], 2)`` → ``{("a","b"), ("b","c"), ("c","d")}``
    """
    texts = _check_texts("texts", texts)
    index: set[tuple[str, ...]] = set()
    for t in texts:
        index |= ngrams(t.split(), n)
    return index


def contaminated(items: Sequence[str], texts: Sequence[str], n: int) -> list[bool]:
    """For each benchmark item, whether any of its ``n``-grams occurs in the training ``texts`` (GPT-3's check,
    Brown et al. 2020, appendix C). An item shorter than ``n`` words has no ``n``-gram and is never flagged.

    Example: ``contaminated(["x y z"], ["a x y z b"], 3)`` → ``[True]``
    """
    items = _check_texts("items", items)
    index = ngram_index(texts, n)
    return [bool(ngrams(it.split(), n) & index) for it in items]


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative (ties
    count one half). 0.5 is chance. For membership inference, positives are members and the score is e.g. the
    negative loss. Example: ``auc([3, 2], [1, 2])`` → 0.875
    """
    pos = torch.as_tensor(list(positive), dtype=torch.float64)
    neg = torch.as_tensor(list(negative), dtype=torch.float64)
    if pos.dim() != 1 or neg.dim() != 1 or not len(pos) or not len(neg):
        raise ValueError("positive and negative must each be a non-empty list of numbers")
    if torch.isnan(pos).any() or torch.isnan(neg).any():
        raise ValueError("scores contain NaN")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())


def min_k_score(log_probs: torch.Tensor, k: float = 0.2) -> float:
    """Min-K% probability (Shi et al., 2024): the mean log-probability of the ``k`` share of a text's tokens the
    model finds least likely (at least one token). Higher suggests the text was seen in training.

    Example: ``min_k_score(torch.tensor([-0.1, -5.0, -0.2, -3.0]), k=0.5)`` → -4.0
    """
    if not torch.is_tensor(log_probs) or log_probs.dim() != 1 or not len(log_probs):
        raise ValueError("log_probs must be a non-empty 1-D tensor (one text's token log-probabilities)")
    if not isinstance(k, (int, float)) or not 0 < k <= 1:
        raise ValueError(f"k must be in (0, 1], got {k!r}")
    m = max(1, int(math.ceil(k * len(log_probs))))
    return float(log_probs.sort().values[:m].mean())


# ---------------------------------------------------------------------------------------------
# Calibration and abstention
# ---------------------------------------------------------------------------------------------


def _conf_correct(confidence, correct):
    c = torch.as_tensor(list(confidence), dtype=torch.float64)
    y = torch.as_tensor([float(v) for v in correct], dtype=torch.float64)
    if c.dim() != 1 or len(c) != len(y) or not len(c):
        raise ValueError(
            f"confidence and correct must be non-empty and of one length, got {len(c)} and {len(y)}"
        )
    if (c < 0).any() or (c > 1).any():
        raise ValueError("confidence must be probabilities in [0, 1]")
    return c, y


def calibration_bins(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> list[dict]:
    """Reliability diagram data: answers grouped by confidence into ``n_bins`` equal-width bins; for each non-empty
    bin ``{"lo", "hi", "n", "confidence" (mean), "accuracy"}``. A calibrated model has accuracy ≈ confidence.

    Example: ``calibration_bins([0.9, 0.8, 0.3], [True, False, False], n_bins=2)``
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}")
    c, y = _conf_correct(confidence, correct)
    idx = (c * n_bins).long().clamp(max=n_bins - 1)
    bins = []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            bins.append(
                {
                    "lo": b / n_bins,
                    "hi": (b + 1) / n_bins,
                    "n": int(sel.sum()),
                    "confidence": float(c[sel].mean()),
                    "accuracy": float(y[sel].mean()),
                }
            )
    return bins


def expected_calibration_error(
    confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> float:
    """ECE: the mean gap |accuracy − confidence| over the bins of :func:`calibration_bins`, weighted by their size.

    Example: ``expected_calibration_error([0.9, 0.9], [True, False])`` → 0.4
    """
    bins = calibration_bins(confidence, correct, n_bins)
    n = sum(b["n"] for b in bins)
    return sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / n


def selective_accuracy(
    uncertainty: Sequence[float], correct: Sequence[bool], thresholds: Sequence[float]
) -> list[dict]:
    """Answer only when ``uncertainty`` (e.g. entropy) is at most a threshold, say "I don't know" otherwise.

    For each threshold: ``{"threshold", "coverage" (share answered), "accuracy" (among the answered; nan when
    none), "wrong" (share of all questions answered wrongly)}``.
    Example: ``selective_accuracy([0.1, 2.0], [True, False], [0.5])`` → coverage 0.5, accuracy 1.0, wrong 0.0
    """
    u = torch.as_tensor(list(uncertainty), dtype=torch.float64)
    y = torch.as_tensor([float(v) for v in correct], dtype=torch.float64)
    if u.dim() != 1 or len(u) != len(y) or not len(u):
        raise ValueError(
            f"uncertainty and correct must be non-empty and of one length, got {len(u)} and {len(y)}"
        )
    out = []
    for t in thresholds:
        ans = u <= t
        k = int(ans.sum())
        out.append(
            {
                "threshold": float(t),
                "coverage": k / len(u),
                "accuracy": float(y[ans].mean()) if k else float("nan"),
                "wrong": float((1 - y[ans]).sum()) / len(u),
            }
        )
    return out
