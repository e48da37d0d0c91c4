"""Tests of lmnotes.challenges.incontext, lmnotes.data.challenges.incontext and their exercises."""

from __future__ import annotations

import pytest
import torch

import lmnotes.exercises as ex
import lmnotes.exercises.challenges.incontext  # noqa: F401  (registers the exercises)
from lmnotes.challenges import incontext as ic
from lmnotes.data.challenges.incontext import linear_regression_prompts
from lmnotes.exercises import Wrong

# ---------------------------------------------------------------------- the prompts


def test_prompts_shapes_and_function():
    p = linear_regression_prompts(5, 7, 3, seed=1)
    assert p["xs"].shape == (5, 7, 3) and p["ys"].shape == (5, 7) and p["ws"].shape == (5, 3)
    torch.testing.assert_close(p["ys"], torch.einsum("bnd,bd->bn", p["xs"], p["ws"]))
    q = linear_regression_prompts(5, 7, 3, seed=1)
    assert torch.equal(p["xs"], q["xs"]) and torch.equal(p["ws"], q["ws"])
    assert not torch.equal(p["ws"], linear_regression_prompts(5, 7, 3, seed=2)["ws"])


def test_prompts_noise_and_scale():
    p = linear_regression_prompts(2000, 4, 2, seed=0, noise=0.5, w_scale=3.0)
    resid = p["ys"] - torch.einsum("bnd,bd->bn", p["xs"], p["ws"])
    assert 0.45 < resid.std() < 0.55
    assert 2.7 < p["ws"].std() < 3.3


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(n_prompts=0, n_points=3, dim=2), ValueError),
        (dict(n_prompts=2, n_points=3, dim=2.0), TypeError),
        (dict(n_prompts=2, n_points=True, dim=2), TypeError),
        (dict(n_prompts=2, n_points=3, dim=2, seed=-1), ValueError),
        (dict(n_prompts=2, n_points=3, dim=2, noise=-0.1), ValueError),
        (dict(n_prompts=2, n_points=3, dim=2, w_scale=0), ValueError),
    ],
)
def test_prompts_bad_input(kwargs, err):
    with pytest.raises(err):
        linear_regression_prompts(**kwargs)


# ---------------------------------------------------------------------- the model


def test_interleave_puts_x_then_y():
    xs, ys = torch.arange(12.0).view(2, 3, 2), torch.tensor([[10.0, 11, 12], [13, 14, 15]])
    z = ic.interleave(xs, ys)
    assert z.shape == (2, 6, 3)
    assert torch.equal(z[0, 0], torch.tensor([0.0, 1, 0])) and torch.equal(
        z[0, 1], torch.tensor([0.0, 0, 10])
    )
    assert torch.equal(z[1, 4], torch.tensor([10.0, 11, 0])) and torch.equal(
        z[1, 5], torch.tensor([0.0, 0, 15])
    )


def test_interleave_bad_input():
    with pytest.raises(TypeError):
        ic.interleave([[1.0]], torch.zeros(1, 1))
    with pytest.raises(ValueError):
        ic.interleave(torch.zeros(2, 3, 2), torch.zeros(2, 4))


def test_regressor_is_causal_and_checks_shapes():
    torch.manual_seed(0)
    model = ic.InContextRegressor(dim=2, n_points=5, n_layer=2, d_model=32).eval()
    p = linear_regression_prompts(3, 5, 2, seed=0)
    pred, loss = model(p["xs"], p["ys"])
    assert pred.shape == (3, 5) and loss.dim() == 0
    ys2 = p["ys"].clone()
    ys2[:, 3:] += 100.0  # later y's, and the y being predicted, must not change earlier predictions
    pred2, _ = model(p["xs"], ys2)
    torch.testing.assert_close(pred[:, :4], pred2[:, :4])
    assert not torch.allclose(pred[:, 4], pred2[:, 4])
    with pytest.raises(ValueError, match="reads up to 5 points of dimension 2"):
        model(torch.zeros(1, 6, 2), torch.zeros(1, 6))
    with pytest.raises(ValueError):
        model(torch.zeros(1, 3, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="n_layer"):
        ic.InContextRegressor(dim=2, n_points=5, n_layer=0)


def test_regression_batches_fresh_and_reproducible():
    get = ic.regression_batches(2, 4, 8, seed=0)
    a, b = get(0), get(1)
    assert a[0].shape == (8, 4, 2) and not torch.equal(a[0], b[0])
    assert torch.equal(get(1)[1], ic.regression_batches(2, 4, 8, seed=0)(1)[1])
    with pytest.raises(ValueError):
        ic.regression_batches(2, 4, 8, seed=-1)
    with pytest.raises(ValueError):
        ic.regression_batches(0, 4, 8)


def test_train_regressor_learns_something_quickly():
    model, history = ic.train_regressor(dim=2, seed=0, steps=300, n_layer=2, d_model=32, n_points=4, lr=3e-3)
    p = linear_regression_prompts(500, 4, 2, seed=9)
    err = ic.error_by_shots(ic.regressor_predictions(model, p["xs"], p["ys"]), p["ys"], 2)
    assert len(err) == 4 and history.step == 300
    assert err[3] < 0.7  # better than the zero predictor (~1) after three examples
    with pytest.raises(ValueError, match="unknown settings"):
        ic.train_regressor(dim=2, stepz=10)


# ---------------------------------------------------------------------- the baselines


def test_least_squares_min_norm_and_exact():
    xs = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 1.0], [1.0, 1.0]]])
    w = torch.tensor([2.0, -1.0])
    ys = xs @ w
    pred = ic.least_squares_predictions(xs, ys)
    # k=0: 0; k=1: min-norm ŵ = (2, 0) from x_1 = (1, 0), predicting 0 for x_2 = (0, 2); k>=2: exact
    torch.testing.assert_close(pred[0], torch.tensor([0.0, 0.0, 5.0, 1.0]))
    p = linear_regression_prompts(3000, 5, 2, seed=0)
    err = ic.error_by_shots(ic.least_squares_predictions(p["xs"], p["ys"]), p["ys"], 2)
    assert abs(err[0] - 1) < 0.1 and abs(err[1] - 0.5) < 0.07 and max(err[2:]) < 1e-6


def test_averaging_and_nearest_neighbour():
    xs = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]])
    ys = torch.tensor([[2.0, 4.0, 6.0]])
    avg = ic.averaging_predictions(xs, ys)
    # ŵ after 1: 2 * (1, 0); after 2: ((2, 0) + (0, 4)) / 2 = (1, 2)
    torch.testing.assert_close(avg[0], torch.tensor([0.0, 0.0, 0.9 + 0.2]))
    nn_ = ic.nearest_neighbour_predictions(xs, ys)
    torch.testing.assert_close(nn_[0], torch.tensor([0.0, 2.0, 2.0]))
    for fn in (ic.least_squares_predictions, ic.averaging_predictions, ic.nearest_neighbour_predictions):
        with pytest.raises(ValueError):
            fn(torch.zeros(2, 3, 2), torch.zeros(3, 2))


def test_error_by_shots_and_bad_input():
    ys = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert ic.error_by_shots(torch.zeros(2, 2), ys, dim=2) == pytest.approx([2.5, 5.0])
    with pytest.raises(ValueError):
        ic.error_by_shots(torch.zeros(2, 3), ys, dim=2)
    with pytest.raises(ValueError):
        ic.error_by_shots(torch.zeros(2, 2), ys, dim=0)
    with pytest.raises(TypeError):
        ic.error_by_shots([[0.0, 0.0]], ys, dim=2)


# ---------------------------------------------------------------------- prompting a language model

POOL = [
    {"task": "isa", "phrasing": 0, "prompt": f"is a x{i} a bird ?", "answer": "yes" if i % 2 else "no"}
    for i in range(6)
] + [
    {"task": "category", "phrasing": 0, "prompt": f"what is a y{i} ?", "answer": c}
    for i, c in enumerate("ab")
]


def test_mismatched_shots_changes_every_answer_within_its_task():
    shots = [[POOL[0], POOL[1]], [POOL[6]]]
    out = ic.mismatched_shots(shots, POOL, seed=0)
    assert [d["prompt"] for d in out[0]] == [POOL[0]["prompt"], POOL[1]["prompt"]]
    assert [d["answer"] for d in out[0]] == ["yes", "no"] and out[1][0]["answer"] == "b"
    assert shots[0][0]["answer"] == "no"  # the input is not changed
    with pytest.raises(ValueError, match="no other answer"):
        ic.mismatched_shots([[POOL[0]]], [POOL[0]])
    with pytest.raises(TypeError):
        ic.mismatched_shots(POOL[0], POOL)


def test_flipped_shots():
    out = ic.flipped_shots([[POOL[0], POOL[1]]])
    assert [d["answer"] for d in out[0]] == ["yes", "no"]
    with pytest.raises(ValueError, match="swaps yes and no"):
        ic.flipped_shots([[POOL[6]]])
    with pytest.raises(TypeError):
        ic.flipped_shots("yes")


class _Tok:
    """A word tokenizer over a fixed vocabulary, enough for prompt_ids."""

    def __init__(self, words):
        self.vocab = ["[PAD]", "[BOS]", "[EOS]"] + sorted(words)
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    def encode(self, text):
        return [self.vocab.index(w) for w in text.split()]

    def id_to_token(self, i):
        return self.vocab[i]


class _Copy(torch.nn.Module):
    """Answers with the answer of the last example in its prompt (a model that copies the examples)."""

    def __init__(self, tok):
        super().__init__()
        self.tok, self.w = tok, torch.nn.Parameter(torch.zeros(1))

    def forward(self, ids, attention_mask=None):
        V = len(self.tok.vocab)
        logits = torch.zeros(*ids.shape, V)
        for b in range(ids.shape[0]):
            seq = ids[b].tolist()
            eos = [i for i, t in enumerate(seq) if t == self.tok.eos_id]
            if eos:
                logits[b, :, seq[eos[-1] - 1]] = 1.0
            else:
                logits[b, :, self.tok.vocab.index("no")] = 1.0

        class Out:
            pass

        out = Out()
        out.logits = logits
        return out


def test_kshot_accuracy_with_a_copying_model():
    words = {w for d in POOL for w in (d["prompt"] + " answer : " + d["answer"]).split()}
    tok = _Tok(words)
    model = _Copy(tok)
    rows = [d for d in POOL if d["task"] == "isa"]
    acc = ic.kshot_accuracy(model, tok, rows, POOL, [0, 1])
    assert acc[0] == 0.5  # always "no": right on the three "no" rows
    # the flipped examples are followed by a copying model: counted against the flipped answer it scores as at k=1
    flip = {"yes": "no", "no": "yes"}
    followed = ic.kshot_accuracy(
        model, tok, rows, POOL, [1], transform=ic.flipped_shots, target=lambda r: flip[r["answer"]]
    )
    assert followed[0] == pytest.approx(acc[1])
    with pytest.raises(ValueError, match="rows is empty"):
        ic.kshot_accuracy(model, tok, [], POOL, [0])
    with pytest.raises(ValueError, match="ks must be"):
        ic.kshot_accuracy(model, tok, rows, POOL, [-1])
    with pytest.raises(ValueError, match="ks must be"):
        ic.kshot_accuracy(model, tok, rows, POOL, [])


# ---------------------------------------------------------------------- the exercises


def test_exercise_accepts_the_reference():
    ex.EXERCISES["least_squares_in_context"].checker(ex.reference("least_squares_in_context"))


def _ridge(xs, ys, xq):
    if len(xs) == 0:
        return 0.0
    d = xs.shape[1]
    return float(xq @ torch.linalg.solve(xs.T @ xs + 0.5 * torch.eye(d, dtype=xs.dtype), xs.T @ ys))


def _zero_below_d(xs, ys, xq):
    if len(xs) < xs.shape[1] if len(xs) else True:
        return 0.0
    return float(xq @ (torch.linalg.pinv(xs) @ ys))


def _first_coords(xs, ys, xq):
    k = len(xs)
    if k == 0:
        return 0.0
    if k >= xs.shape[1]:
        return float(xq @ (torch.linalg.pinv(xs) @ ys))
    w = torch.zeros(xs.shape[1], dtype=xs.dtype)
    w[:k] = torch.linalg.solve(xs[:, :k], ys)
    return float(xq @ w)


@pytest.mark.parametrize(
    "wrong, says",
    [
        (lambda xs, ys, xq: float(ys.mean()) if len(ys) else 1.0, "no example"),
        (_zero_below_d, "minimum-norm"),
        (lambda xs, ys, xq: float(xq @ (xs.T @ ys) / len(xs)) if len(xs) else 0.0, "averaging"),
        (_first_coords, "first"),
        (_ridge, "least-squares prediction is"),
        (lambda xs, ys, xq: "0", "return one number"),
    ],
)
def test_exercise_rejects_wrong_answers(wrong, says):
    with pytest.raises(Wrong, match=says):
        ex.EXERCISES["least_squares_in_context"].checker(wrong)


def test_question_and_discussion():
    check = ex.EXERCISES["least_squares_error_k_below_d"].checker
    check(0.6)
    with pytest.raises(Wrong, match="k / d"):
        check(0.4)
    with pytest.raises(Wrong, match="zero predictor"):
        check(1.0)
    assert "learning_or_recognising" in ex.DISCUSSIONS
