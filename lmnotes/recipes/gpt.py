"""The world's GPT: what it reads, how the book trains it, and how it is measured.

Read top to bottom: the texts it is trained on (the world's sentences, reviews and instructions, mixed),
the language-modelling batches (random windows of one token stream), the recipe behind
``lmnotes.pretrained("gpt-world")``, fact scoring of its samples, and instruction tuning as multitask
learning (batches with the loss on the answer only, the answer it predicts, its accuracy).

Example::

    model, tok, history = train_world_gpt({"steps": 300})
    sample_facts(model, tok, temperature=0.7)["true"]        # share of sampled facts that are true
"""

from __future__ import annotations

import random

import torch

from ..data import world
from ..data.batching import IGNORE_INDEX, pad_batch
from ..data.tokenizers import WordTokenizer
from ..data.world import PROPERTIES, TAXONOMY, World, article
from ..models.gpt import GPT, GPTConfig
from ..train import fit
from ..utils import eval_mode
from ..zoo import register

# ---------------------------------------------------------------------- the world's GPT

# What the world's GPT reads: the general corpus (whose mix already holds reviews), extra reviews (the RLHF
# chapter asks it to write them), and instructions with their answers (seen phrasings, train split only).
WORLD_MIX = {"corpus": 0.6, "reviews": 0.25, "instructions": 0.15}


def world_texts(n: int = 20000, seed: int = 0, mix: dict | None = None, split: str = "train") -> list[str]:
    """``n`` texts (sentences, reviews, instructions) from the world, mixed with the weights ``mix``.

    Example: ``texts = world_texts(5000, seed=0)``; ``texts[0]`` → ``"a carp lives in water ."``
    """
    mix = dict(WORLD_MIX if mix is None else mix)
    bad = set(mix) - set(WORLD_MIX)
    if bad:
        raise ValueError(f"mix has unknown sources {sorted(bad)}; choose from {sorted(WORLD_MIX)}")
    total = sum(mix.values())
    counts = {k: int(round(n * v / total)) for k, v in mix.items()}
    texts = []
    # Each source is asked for all splits (so ``split`` picks disjoint texts) then cut to its share.
    if counts.get("corpus"):
        texts += list(world.corpus(int(counts["corpus"] / 0.8) + 2, seed=seed)[split]["text"])[
            : counts["corpus"]
        ]
    if counts.get("reviews"):
        texts += list(world.reviews(int(counts["reviews"] / 0.8) + 2, seed=seed + 1)[split]["text"])[
            : counts["reviews"]
        ]
    if counts.get("instructions"):
        texts += list(
            world.instructions(int(counts["instructions"] / 0.8) + 5, seed=seed + 2)[split]["text"]
        )[: counts["instructions"]]
    random.Random(seed).shuffle(texts)
    return texts


def lm_stream(texts: list[str], tok) -> torch.Tensor:
    """Join texts into one token stream, each as ``[BOS] text [EOS]`` (1-D LongTensor).

    A model trained on it starts a text after ``[BOS]`` and says it is done with ``[EOS]``.
    Example: ``ids = lm_stream(["a robin can fly ."], tok)``
    """
    ids = []
    for t in texts:
        ids += tok.encode(t, add_special_tokens=True)
    return torch.tensor(ids, dtype=torch.long)


def lm_batches(stream: torch.Tensor, block_size: int, batch_size: int, seed: int = 0):
    """``get_batch(step) -> (inputs (B, T), targets (B, T))``: random windows of the stream, reproducible by seed.

    Example: ``fit(model, lm_batches(ids, 64, 32), steps=300)``
    """
    if len(stream) < block_size + 2:
        raise ValueError(f"the stream has {len(stream)} tokens; windows of block_size={block_size} need more")

    def get_batch(step: int):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, len(stream) - block_size - 1, (batch_size,), generator=g)
        offsets = torch.arange(block_size + 1)
        rows = stream[starts[:, None] + offsets]  # (B, T + 1)
        return rows[:, :-1], rows[:, 1:]

    return get_batch


# About 20 s on two CPU cores; greedy samples state true facts 95-100% of the time (three seeds).
WORLD_CONFIG = {
    "n_texts": 12000,
    "block_size": 64,
    "n_layer": 2,
    "n_head": 4,
    "d_model": 128,
    "steps": 300,
    "batch_size": 32,
    "lr": 3e-3,
    "seed": 0,
}


def train_world_gpt(config: dict | None = None, device=None, progress: bool = False):
    """Train a GPT on the world's texts: returns ``(model, tokenizer, history)``. Deterministic given the config.

    Example: ``model, tok, history = train_world_gpt({"steps": 300})``
    """
    c = {**WORLD_CONFIG, **(config or {})}
    torch.manual_seed(c["seed"])
    texts = world_texts(c["n_texts"], seed=c["seed"])
    # the vocabulary covers every split, so held-out test texts never meet [UNK]
    vocab_texts = (
        texts + world_texts(2000, seed=c["seed"], split="test") + list(world.facts(c["seed"])["test"]["text"])
    )
    tok = WordTokenizer().train(vocab_texts)
    model = GPT(
        GPTConfig(
            vocab_size=tok.vocab_size,
            block_size=c["block_size"],
            n_layer=c["n_layer"],
            n_head=c["n_head"],
            d_model=c["d_model"],
        )
    )
    batches = lm_batches(lm_stream(texts, tok), c["block_size"], c["batch_size"], seed=c["seed"])
    history = fit(model, batches, steps=c["steps"], lr=c["lr"], device=device, progress=progress, warmup=0.05)
    return model.eval(), tok, history


# ---------------------------------------------------------------------- measuring what it says


def sample_facts(
    model,
    tok,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    n_per_entity: int = 4,
    seed: int = 0,
    world_seed: int = 0,
    max_new_tokens: int = 8,
) -> dict:
    """Prompt ``a <entity>`` for every entity of the world, sample the rest of the sentence, and score it.

    A continuation is a *fact* when it is ``<property> .`` (``a robin can fly .``) or ``is a <category> .``;
    it is scored with the world's ground truth. Returns ``{"true": share of facts that are true, "facts": share
    of continuations that are facts, "true_per_sample": share of samples that are true facts, "distinct":
    distinct continuations / samples, "n": samples, "texts": [...]}``.

    Example: ``sample_facts(model, tok, temperature=0.7)["true"]``
    """
    world = World(world_seed)
    device = next(model.parameters()).device
    entities = world.entities
    prompts = [[tok.bos_id] + tok.encode(f"{article(x)} {x}") for x in entities]
    # entities of one article length share a batch (prompts of equal length, no padding needed)
    forms = {" ".join(w for w, _ in p.singular): name for name, p in PROPERTIES.items()}
    g = torch.Generator(device=device).manual_seed(seed)
    texts, n_fact, n_true = [], 0, 0
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(prompts):
        groups.setdefault(len(ids), []).append(i)
    for length, members in sorted(groups.items()):
        x = torch.tensor([prompts[i] for i in members for _ in range(n_per_entity)], device=device)
        out = model.generate(
            x,
            max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            stop_token=tok.eos_id,
            generator=g,
        )
        for row, i in zip(out[:, length:].tolist(), (i for i in members for _ in range(n_per_entity))):
            words = tok.decode(row, skip_special_tokens=True).split()
            cont = " ".join(words[: words.index(".") + 1] if "." in words else words)
            texts.append(f"{article(entities[i])} {entities[i]} {cont}")
            body = cont[:-2] if cont.endswith(" .") else None
            if body in forms:
                n_fact += 1
                n_true += world.is_true(entities[i], forms[body])
            elif body is not None and len(body.split()) == 3 and body.split()[0] == "is":
                cat = body.split()[-1]
                if cat in TAXONOMY and body.split()[1] == article(cat):
                    n_fact += 1
                    n_true += world.category_of(entities[i]) == cat
    n = len(texts)
    return {
        "true": n_true / max(n_fact, 1),
        "facts": n_fact / n,
        "true_per_sample": n_true / n,
        "distinct": len(set(texts)) / n,
        "n": n,
        "texts": texts,
    }


# ---------------------------------------------------------------------- instructions as multitask learning


def instruction_batches(rows, tok, batch_size: int = 32, seed: int = 0):
    """``get_batch(step) -> (inputs (B, T), targets (B, T), attention_mask (B, T))`` for instruction tuning.

    Each row's ``text`` is ``prompt answer : <answer>``; the loss is on the answer's tokens (and ``[EOS]``) only,
    so the model learns to answer, not to write questions. Rows are drawn at random, reproducibly by ``seed``.
    Example: ``fit(model, instruction_batches(ds["train"], tok), steps=300)``
    """
    encoded = []
    for r in rows:
        prompt = tok.encode(r["prompt"] + " answer :")
        answer = tok.encode(r["answer"]) + [tok.eos_id]
        ids = [tok.bos_id] + prompt + answer
        # inputs drop the last token; target t is token t + 1, ignored (IGNORE_INDEX) until the answer starts
        encoded.append((ids[:-1], [IGNORE_INDEX] * len(prompt) + answer))
    if not encoded:
        raise ValueError("rows is empty: there is nothing to train on")

    def get_batch(step: int):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        pick = torch.randint(0, len(encoded), (batch_size,), generator=g).tolist()
        b = pad_batch([encoded[i][0] for i in pick], pad_id=tok.pad_id, labels=[encoded[i][1] for i in pick])
        return b["input_ids"], b["labels"], b["attention_mask"]

    return get_batch


def prompt_ids(tok, row, shots=(), max_len: int | None = None) -> list[int]:
    """The token ids a model reads to answer ``row``: ``[BOS] prompt answer :``, after the solved examples in
    ``shots`` (k-shot prompting), each as a text of its own, ``[BOS] prompt answer : <answer> [EOS]``, the way
    texts follow one another in a language model's training stream.

    With ``max_len`` (the model's context), examples that do not fit are left out, the earliest first; the
    question itself is never cut. Example: ``prompt_ids(tok, {"prompt": "is a robin a bird ?"})``
    """
    question = [tok.bos_id] + tok.encode(row["prompt"] + " answer :")
    if max_len is not None and len(question) > max_len:
        raise ValueError(
            f"the prompt {row['prompt']!r} is {len(question)} tokens, longer than the model's context "
            f"of {max_len}; shorten it or use a model with a larger block_size"
        )
    examples = [
        [tok.bos_id] + tok.encode(d["prompt"] + " answer : " + d["answer"]) + [tok.eos_id] for d in shots
    ]
    while examples and max_len is not None and sum(map(len, examples)) + len(question) > max_len:
        examples = examples[1:]  # the earliest example goes first: the nearest ones matter most
    return [t for e in examples for t in e] + question


def draw_shots(rows, pool, k: int, seed: int = 0) -> list[list[dict]]:
    """For each row, ``k`` solved examples from ``pool`` of the same task in the same phrasing (never the row's
    own prompt), drawn reproducibly by ``seed``: the demonstrations of k-shot prompting.

    Example: ``shots = draw_shots(test, train, k=3)``; then ``answer_accuracy(model, tok, test, shots=shots)``
    """
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0 (the number of examples per prompt), got {k!r}")
    rng = random.Random(seed)
    by_format: dict = {}
    for d in pool:
        by_format.setdefault((d["task"], d["phrasing"]), []).append(d)
    out = []
    for r in rows:
        candidates = [d for d in by_format.get((r["task"], r["phrasing"]), []) if d["prompt"] != r["prompt"]]
        if len(candidates) < k:
            raise ValueError(
                f"the pool has {len(candidates)} solved examples of task {r['task']!r} in phrasing "
                f"{r['phrasing']}, fewer than k={k}; lower k or give a larger pool"
            )
        out.append(rng.sample(candidates, k))
    return out


@torch.no_grad()
def predict_answers(model, tok, rows, batch_size: int = 256, shots=None) -> list[str]:
    """The model's most likely word after ``[BOS] prompt answer :`` for each row (a dict with ``prompt``).

    ``shots`` (one list of solved rows per row, from :func:`draw_shots`) puts examples before each question
    (:func:`prompt_ids`); those that do not fit the model's context are left out.
    Example: ``predict_answers(model, tok, [{"prompt": "is a robin a bird ?"}])``  → ``["yes"]``
    """
    rows = list(rows)
    if shots is not None and len(shots) != len(rows):
        raise ValueError(
            f"shots has {len(shots)} lists of examples for {len(rows)} rows; give one list per row "
            "(draw_shots(rows, pool, k) makes them)"
        )
    device = next(model.parameters()).device
    max_len = getattr(getattr(model, "config", None), "block_size", None)
    words = []
    with eval_mode(model):
        for s in range(0, len(rows), batch_size):
            seqs = [
                prompt_ids(tok, r, shots[s + i] if shots is not None else (), max_len)
                for i, r in enumerate(rows[s : s + batch_size])
            ]
            batch = pad_batch(seqs, pad_id=tok.pad_id)
            logits = model(
                batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)
            ).logits  # (B, T, V)
            last = torch.tensor(
                [len(ids) - 1 for ids in seqs], device=device
            )  # right padding: last real token
            pred = logits[torch.arange(len(seqs), device=device), last].argmax(-1).tolist()
            words += [tok.id_to_token(p) for p in pred]
    return words


def answer_accuracy(model, tok, rows, batch_size: int = 256, shots=None) -> float:
    """Share of instructions whose answer is the model's most likely word after ``answer :`` (with ``shots``,
    after k solved examples each: see :func:`predict_answers`).

    Example: ``answer_accuracy(model, tok, ds["test"])``  → 0.93
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: there is nothing to evaluate")
    pred = predict_answers(model, tok, rows, batch_size, shots=shots)
    return sum(p == r["answer"].split()[0] for p, r in zip(pred, rows)) / len(rows)


def _build_world_gpt(config: dict):
    model, tok, _ = train_world_gpt(config)
    return model, tok


register("gpt-world", config=WORLD_CONFIG)(_build_world_gpt)
