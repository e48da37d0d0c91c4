"""Exercises for the challenges chapter's incontext notebook: the least-squares prediction from k in-context
examples (minimum norm when k < d), the error it leaves, and whether a prompted model learns or recognises."""

from __future__ import annotations

import torch

from .. import Wrong, discussion, exercise, question


def _as_float(got):
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return float(got)
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return float(got)
    raise Wrong(f"return one number (the prediction for x_query), got {type(got).__name__} ({got!r})")


def _cases():
    g = torch.Generator().manual_seed(0)
    out = []
    for d, k, noise, what in [
        (3, 0, 0.0, "no example (k = 0)"),
        (3, 1, 0.0, "one example in dimension 3 (k < d)"),
        (3, 2, 0.0, "two examples in dimension 3 (k < d)"),
        (2, 2, 0.0, "two examples in dimension 2 (k = d)"),
        (2, 6, 0.5, "six noisy examples in dimension 2 (k > d)"),
        (4, 3, 0.0, "three examples in dimension 4 (k < d)"),
    ]:
        w = torch.randn(d, generator=g, dtype=torch.float64)
        xs = torch.randn(k, d, generator=g, dtype=torch.float64)
        ys = xs @ w + noise * torch.randn(k, generator=g, dtype=torch.float64)
        xq = torch.randn(d, generator=g, dtype=torch.float64)
        out.append((xs, ys, xq, what))
    return out


@exercise(
    "least_squares_in_context",
    hint="fit ŵ to the k examples with the pseudo-inverse, ŵ = pinv(X) y (torch.linalg.pinv), which is the "
    "least-squares fit when k >= d and the smallest ŵ that fits them exactly when k < d; predict ŵ · x_query, "
    "and 0 when there is no example",
)
def check_least_squares_in_context(fn):
    for xs, ys, xq, what in _cases():
        k, d = xs.shape
        got = _as_float(fn(xs.clone(), ys.clone(), xq.clone()))
        want = float(xq @ (torch.linalg.pinv(xs) @ ys)) if k else 0.0
        if abs(got - want) <= 1e-4 * max(1.0, abs(want)):
            continue
        if k == 0:
            raise Wrong(
                f"with no example, predict 0 (ŵ = 0, the minimum-norm fit of nothing); you return {got:.4g}"
            )
        if abs(got) < 1e-9 and k < d:
            raise Wrong(
                f"with {what} you return 0: fewer examples than dimensions do not determine w, but the "
                "minimum-norm ŵ = pinv(X) y still fits them and predicts something"
            )
        mean_y = float(ys.mean())
        if abs(got - mean_y) < 1e-6:
            raise Wrong(
                f"with {what} you return the mean of the y's; predict ŵ · x_query with ŵ fitted to the examples"
            )
        avg = float(xq @ (xs.T @ ys) / k)
        if abs(got - avg) < 1e-6:
            raise Wrong(
                f"with {what} you average y_j x_j (the averaging estimator): it is unbiased but not the "
                "least-squares fit; use ŵ = pinv(X) y"
            )
        if k < d:
            pad = torch.zeros(d, dtype=xs.dtype)
            pad[:k] = torch.linalg.solve(xs[:, :k], ys)
            if abs(got - float(xq @ pad)) < 1e-6:
                raise Wrong(
                    f"with {what} you solve for the first {k} coordinates of w and set the others to 0: that "
                    "fits the examples, but it is not the smallest ŵ that does; use pinv(X) y"
                )
        nearest = float(ys[(xs - xq).norm(dim=1).argmin()])
        if abs(got - nearest) < 1e-6:
            raise Wrong(f"with {what} you return the y of the nearest example; fit ŵ to all of them instead")
        raise Wrong(f"with {what}, the least-squares prediction is {want:.4f}, yours is {got:.4f}")


@check_least_squares_in_context.reference
def least_squares_in_context(xs, ys, x_query):
    # xs: (k, d) examples, ys: (k,), x_query: (d,)
    if len(xs) == 0:
        return 0.0  # no example: ŵ = 0
    w_hat = torch.linalg.pinv(xs) @ ys  # least squares; the minimum-norm fit when k < d
    return float(x_query @ w_hat)


question(
    "least_squares_error_k_below_d",
    answer=0.6,
    tol=0.01,
    explanation="The minimum-norm ŵ is w projected onto the span of the k examples' x's: the part of w in the "
    "other d - k directions is lost. With w and x standard normal, the expected squared error is "
    "E|w_⊥|² = d - k = 3, which is 3 / 5 = 0.6 once divided by d.",
    mistakes={
        0.4: "that is k / d, the share of w the examples pin down; the error is what is left, (d - k) / d",
        1.0: "that is the zero predictor's error; two examples already fix w in two of the five directions",
        0.0: "least squares is exact only from k = d examples on (without noise)",
        3.0: "that is the expected squared error itself, d - k; the curves divide it by d",
    },
    hint="the minimum-norm ŵ is w projected onto the span of x_1, ..., x_k",
)

discussion(
    "learning_or_recognising",
    """
    The regression Transformer does learn from its prompt in one sense: its prediction for a w it never saw
    follows the examples (wrong examples make it wrong, more examples make it better, like least squares).
    But it learned one family of tasks in training, and it fails outside the distribution it was trained on
    (w three times larger). gpt-world reads examples in the format of its training texts and uses them
    little: its accuracy hardly moves with k, wrong answers in the examples change nothing, and examples with
    yes and no swapped are not followed, which is what recognising a known task looks like. To tell the two
    apart in a large model, give it a task its training data cannot contain (new labels, a flipped or an
    arbitrary mapping) and vary k: learning shows as accuracy on that task that grows with k.
    """,
)
