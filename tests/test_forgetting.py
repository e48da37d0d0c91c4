"""Continual learning: the two domains, replay batches, fine-tuning with replay, the forgetting measure, and the
notebook's exercises."""

import random

import pytest
import torch

from lmnotes.challenges import train_tiny_gpt
from lmnotes.challenges.forgetting import (
    domain_accuracy,
    domain_eval,
    fine_tune,
    forgetting,
    replay_batches,
    replay_counts,
)
from lmnotes.data.challenges import CITIES
from lmnotes.data.challenges.forgetting import DETERMINERS, DOMAIN_ADJECTIVES, RELATIONS, two_domains
from lmnotes.data.world import TAXONOMY, World
from lmnotes.exercises import EXERCISES, names, reference, run_check

# ---------------------------------------------------------------------------------------------- the two domains


def test_two_domains_facts_and_split():
    data = two_domains(n_people=12, seed=3)
    world = World(0)
    a, b = data["A"], data["B"]
    assert a["facts"] == {x: world.category_of(x) for x in world.entities}
    assert len(b["facts"]) == 12 and set(b["answers"]) <= set(CITIES)
    n_frames = len(DETERMINERS) * len(DOMAIN_ADJECTIVES)
    for name, d in data.items():
        k = round(0.25 * n_frames)
        assert len(d["test"]) == k * len(d["facts"])
        assert len(d["train"]) == (n_frames - k) * len(d["facts"])
        train = set(d["train"])
        for q in d["test"]:
            assert q["prompt"].endswith(RELATIONS[name]) and q["answer"] == d["facts"][q["subject"]]
            assert f"{q['prompt']} {q['answer']} ." not in train  # held out: never a training sentence
        # every subject has frames on both sides, each sentence states the subject's true answer
        for x in d["facts"]:
            assert any(f" {x} " in t for t in d["train"]) and any(q["subject"] == x for q in d["test"])
        for t in d["train"]:
            words = t.split()
            assert words[0] in DETERMINERS and words[1] in DOMAIN_ADJECTIVES
            assert words[-2] == d["facts"][words[2]] and words[-1] == "."


def test_two_domains_seeded():
    assert two_domains(seed=1) == two_domains(seed=1)
    assert two_domains(seed=1)["B"]["facts"] != two_domains(seed=2)["B"]["facts"]
    assert two_domains(seed=1)["A"]["test"] != two_domains(seed=2)["A"]["test"]
    # the animals' kinds do not depend on the seed: they are the world's
    assert two_domains(seed=1)["A"]["facts"] == two_domains(seed=2)["A"]["facts"]
    assert sorted(two_domains()["A"]["answers"]) == sorted(TAXONOMY)


def test_two_domains_small_share_keeps_one_question_per_subject():
    data = two_domains(n_people=3, adjectives=["old"], test_share=0.0, seed=0)
    assert len(data["B"]["test"]) == 3 and len(data["B"]["train"]) == 3 * (len(DETERMINERS) - 1)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(n_people=0), ValueError, "n_people"),
        (dict(n_people=2.5), ValueError, "n_people"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(test_share=1.5), ValueError, "test_share"),
        (dict(test_share=1.0), ValueError, "keep some for training"),
        (dict(adjectives="old"), TypeError, "list of words"),
        (dict(adjectives=[]), ValueError, "non-empty"),
        (dict(adjectives=["Old"]), ValueError, "lower-case"),
        (dict(adjectives=["old", "old"]), ValueError, "distinct"),
    ],
)
def test_two_domains_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        two_domains(**kwargs)


# ---------------------------------------------------------------------------------------------- replay


def test_replay_counts_share_and_spread():
    counts = replay_counts(100, 32, 0.05)
    assert sum(counts) == 160 and set(counts) <= {1, 2}  # exactly 5 % of 3200 rows, one or two per batch
    assert replay_counts(4, 32, 0.05) == [1, 2, 1, 2]
    assert replay_counts(10, 30, 0.1) == [3] * 10  # no float wobble at whole numbers
    assert replay_counts(3, 8, 0.0) == [0, 0, 0] and replay_counts(3, 8, 1.0) == [8, 8, 8]


@pytest.mark.parametrize(
    "args, words",
    [((0, 32, 0.1), "steps"), ((5, 0, 0.1), "batch_size"), ((5, 32, 1.5), "share"), ((5, 32, True), "share")],
)
def test_replay_counts_bad_input(args, words):
    with pytest.raises(ValueError, match=words):
        replay_counts(*args)


def test_replay_batches_mix_the_two_streams():
    new = torch.arange(100, 200)  # token ids 100..199: new; 0..49: old
    old = torch.arange(0, 50)
    get = replay_batches(new, old, block_size=8, batch_size=32, share=0.25, seed=0, first_step=10)
    for step in range(10, 14):
        x, y = get(step)
        assert x.shape == (32, 8) and y.shape == (32, 8)
        assert torch.equal(x[:, 1:], y[:, :-1])  # targets are the inputs shifted by one
        is_old = (x < 100).all(1)
        assert ((x >= 100).all(1) | is_old).all()  # each row is one window of one stream
        assert int(is_old.sum()) == 8
    assert torch.equal(get(11)[0], get(11)[0])  # reproducible
    plain = replay_batches(new, None, 8, 16, share=0.0)(0)[0]
    assert (plain >= 100).all()


def test_replay_batches_bad_input():
    new = torch.arange(100)
    with pytest.raises(ValueError, match="old_stream is needed"):
        replay_batches(new, None, 8, 32, share=0.1)
    with pytest.raises(TypeError, match="1-D tensor"):
        replay_batches([1, 2, 3], None, 8, 32)
    with pytest.raises(ValueError, match="need more"):
        replay_batches(new, torch.arange(5), 8, 32, share=0.1)
    with pytest.raises(ValueError, match="share"):
        replay_batches(new, new, 8, 32, share=-0.1)
    with pytest.raises(ValueError, match="block_size"):
        replay_batches(new, None, 0, 32)
    with pytest.raises(ValueError, match="batch_size"):
        replay_batches(new, None, 8, 0)


# ---------------------------------------------------------------------------------------------- forgetting measure


def test_forgetting():
    assert forgetting([0.2, 0.9, 0.8, 0.3]) == pytest.approx(0.6)
    assert forgetting([0.5, 0.5]) == 0
    assert forgetting([0.1, 0.4, 0.9]) == pytest.approx(-0.5)  # a new best at the end: negative
    assert forgetting((1, 0)) == 1


@pytest.mark.parametrize(
    "value, error, words",
    [
        ([0.5], ValueError, "at least two"),
        ("0.5 0.4", TypeError, "list of numbers"),
        ([0.5, float("nan")], ValueError, "finite"),
        ([0.5, True], ValueError, "finite numbers"),
        (5, TypeError, "list of numbers"),
    ],
)
def test_forgetting_bad_input(value, error, words):
    with pytest.raises(error, match=words):
        forgetting(value)


# ---------------------------------------------------------------------------------------------- training and evaluation


@pytest.fixture(scope="module")
def small_run():
    torch.set_num_threads(1)
    data = two_domains(n_people=4, seed=0)
    a_train = [t for t in data["A"]["train"] if t.split()[2] in ("robin", "salmon", "dog")]
    a_test = [q for q in data["A"]["test"] if q["subject"] in ("robin", "salmon", "dog")]
    evaluate = domain_eval({"A": a_test, "B": data["B"]["test"]})
    model, tok, history = train_tiny_gpt(
        a_train, seed=0, vocab_texts=data["B"]["train"], eval_fn=evaluate, eval_every=100, steps=200
    )
    return data, a_train, a_test, evaluate, model, tok, history


def test_domain_accuracy_and_eval(small_run):
    data, a_train, a_test, evaluate, model, tok, history = small_run
    assert domain_accuracy(model, tok, a_test) == 1.0  # three subjects, learned from other frames
    wrong = [dict(q, answer="fish" if q["answer"] != "fish" else "bird") for q in a_test]
    assert domain_accuracy(model, tok, wrong) == 0.0
    got = evaluate(model, tok)
    assert set(got) == {"acc_A", "acc_B"} and got["acc_A"] == 1.0 and got["acc_B"] <= 0.5
    assert history.steps("eval_acc_A") == [100, 200]


def test_fine_tune_forgets_and_replay_keeps(small_run):
    data, a_train, a_test, evaluate, model, tok, history = small_run
    before = [p.detach().clone() for p in model.parameters()]
    kw = dict(seed=0, history=history, eval_fn=evaluate, eval_every=50, steps=250)
    alone, h_alone = fine_tune(model, tok, data["B"]["train"], **kw)
    mixed, h_mixed = fine_tune(model, tok, data["B"]["train"], replay_texts=a_train, replay_share=0.2, **kw)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))  # the original is untouched
    assert history.step == 200 and h_alone.steps("eval_acc_A") == [100, 200, 250, 300, 350, 400, 450]
    assert h_alone.last("eval_acc_B") >= 0.9 and h_mixed.last("eval_acc_B") >= 0.9
    assert h_mixed.last("eval_acc_A") >= h_alone.last("eval_acc_A") + 0.3
    assert forgetting(h_alone["eval_acc_A"]) >= 0.3
    assert not alone.training and not mixed.training


def test_fine_tune_bad_input(small_run):
    data, a_train, a_test, evaluate, model, tok, history = small_run
    with pytest.raises(ValueError, match="replay_texts is empty"):
        fine_tune(model, tok, data["B"]["train"], replay_share=0.1)
    with pytest.raises(TypeError, match="History"):
        fine_tune(model, tok, data["B"]["train"], history={"step": 3})
    with pytest.raises(TypeError, match="eval_fn"):
        fine_tune(model, tok, data["B"]["train"], eval_fn="acc")
    with pytest.raises(ValueError, match="does not know"):
        fine_tune(model, tok, ["the old zebra lives in rome ."])
    with pytest.raises(TypeError, match="one str"):
        fine_tune(model, tok, "the old robin is a kind of bird .")


def test_domain_eval_bad_input(small_run):
    data, a_train, a_test, evaluate, model, tok, history = small_run
    with pytest.raises(TypeError, match="non-empty dict"):
        domain_eval([a_test])
    with pytest.raises(ValueError, match="empty"):
        domain_eval({"A": []})
    with pytest.raises(ValueError, match="'prompt' and 'answer'"):
        domain_eval({"A": [{"prompt": "x"}]})
    with pytest.raises(TypeError, match="names"):
        domain_eval({1: a_test})
    with pytest.raises(TypeError, match="got one dict"):
        domain_accuracy(model, tok, a_test[0])
    with pytest.raises(ValueError, match="not one word"):
        domain_accuracy(model, tok, [{"prompt": "the old robin is a kind of", "answer": "big bird"}])


# ---------------------------------------------------------------------------------------------- exercises

NAMES = ["forgetting_measure", "replay_batch", "why_forgetting"]


def test_exercises_registered_under_the_chapter():
    assert set(NAMES) <= set(names())
    assert {EXERCISES[n].chapter for n in NAMES} == {"challenges"}


@pytest.mark.parametrize("name", NAMES[:2])
def test_reference_passes(name):
    assert run_check(name, reference(name)) == ("correct", f"{name}: Correct!")


def test_reference_agrees_with_the_package():
    for accs in ([0.2, 0.9, 1.0, 0.4, 0.1], [0.1, 0.4, 0.9], [0.5, 0.5]):
        assert reference("forgetting_measure")(accs) == pytest.approx(forgetting(accs))


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda a: max(a) - a[-1], "never be negative"),
        (lambda a: a[0] - a[-1], "first accuracy minus the last"),
        (lambda a: a[-1] - max(a[:-1]), "sign is flipped"),
        (lambda a: max(a[:-1]) - min(a), "LAST accuracy"),
        (lambda a: 100 * (max(a[:-1]) - a[-1]), "percent"),
        (lambda a: str(max(a[:-1]) - a[-1]), "return a number"),
    ],
)
def test_forgetting_measure_mistakes(wrong, words):
    status, message = run_check("forgetting_measure", wrong)
    assert status == "wrong" and words in message, message


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda n, o, s, r: n + r.sample(o, round(s * len(n))), "does not add rows"),
        (lambda n, o, s, r: n[: len(n) - int(s * len(n))] + r.sample(o, int(s * len(n))), "int() cuts"),
        (lambda n, o, s, r: n[: len(n) - round(s * len(n))] + o[: round(s * len(n))], "always the same few"),
        (lambda n, o, s, r: n[: round(s * len(n))] + r.sample(o, len(n) - round(s * len(n))), "share of OLD"),
        (lambda n, o, s, r: n[: len(n) - round(s * len(n))] + r.choices(o, k=round(s * len(n))), "twice"),
        (lambda n, o, s, r: n[:-1], "keep all"),
        (lambda n, o, s, r: tuple(n), "return a list"),
    ],
)
def test_replay_batch_mistakes(wrong, words):
    status, message = run_check("replay_batch", wrong)
    assert status == "wrong" and words in message, message


def test_replay_batch_accepts_a_shuffled_batch():
    def shuffled(new, old, share, rng):
        k = round(share * len(new))
        batch = rng.sample(new, len(new) - k) + rng.sample(old, k)
        rng.shuffle(batch)
        return batch

    assert run_check("replay_batch", shuffled)[0] == "correct"
    assert run_check("replay_batch", lambda n, o, s, r: random.Random(0).sample(o, len(n)))[0] == "wrong"


def test_why_forgetting_question():
    assert run_check("why_forgetting", "b")[0] == "correct"
    for letter, words in (("a", "no sentence about a person"), ("c", "replay run"), ("d", "control")):
        status, message = run_check("why_forgetting", letter)
        assert status == "wrong" and words in message, message
    assert run_check("why_forgetting", None)[0] == "not attempted"
