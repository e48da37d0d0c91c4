"""Defaults and exceptions: the corpus knob, the model's answers by minimal pairs, the rates, and the exercises."""

from collections import Counter

import pytest
import torch

from lmnotes.challenges import defaults as cd
from lmnotes.challenges import token_log_probs
from lmnotes.data.challenges.defaults import ABILITIES, ability_statement, category_default, defaults_corpus
from lmnotes.data.world import World
from lmnotes.exercises import EXERCISES, names, reference, run_check

SMALL = dict(counts=(0, 1, 3), per_count=2, n_ordinary=3, n_filler=0)

# ---------------------------------------------------------------------------------------------- the corpus


def test_category_default_reads_the_taxonomy_not_the_exceptions():
    assert category_default("bird", "can fly") and category_default("fish", "can swim")
    assert not category_default("bird", "can swim") and not category_default("mammal", "can fly")
    assert World(0).is_true("penguin", "can fly") is False  # the exception: the default says otherwise


@pytest.mark.parametrize("args", [("dragon", "can fly"), ("bird", "can sing")])
def test_category_default_rejects_unknown_names(args):
    with pytest.raises(ValueError, match="unknown"):
        category_default(*args)


def test_ability_statement_both_polarities():
    assert ability_statement("penguin", "can fly", False) == "a penguin cannot fly ."
    assert ability_statement("owl", "can fly", True) == "an owl can fly ."
    assert ability_statement("kalo", "can run", True) == "a kalo can run ."


@pytest.mark.parametrize(
    "args, err",
    [
        (("robin", "has feathers", True), ValueError),
        (("two words", "can fly", True), ValueError),
        (("robin", "can fly", "yes"), TypeError),
    ],
)
def test_ability_statement_rejects_bad_input(args, err):
    with pytest.raises(err):
        ability_statement(*args)


def test_each_fact_is_stated_exactly_its_count_and_never_asked():
    data = defaults_corpus(seed=0, **SMALL)
    texts = Counter(data["texts"])
    made_up = [i for i in data["items"] if not i["world"]]
    assert len(made_up) == 3 * 3 * 2 * 2
    for it in made_up:
        stated = it["other_text"] if it["role"] == "exception" else it["default_text"]
        unstated = it["default_text"] if it["role"] == "exception" else it["other_text"]
        assert texts[stated] == it["count"] and texts[unstated] == 0, it
        assert it["property"] == ABILITIES[it["category"]]
        assert it["answer"] == ("no" if it["role"] == "exception" else "yes") == it["answer"]
        assert (
            it["default_answer"] == "yes" and it["question"] == f"can a {it['entity']} {it['property'][4:]} ?"
        )
        assert texts[f"a {it['entity']} is a {it['category']} ."] >= 1
    assert not any("?" in t for t in data["texts"])
    penguin = data["items"][0]
    assert penguin["world"] and penguin["entity"] == "penguin" and penguin["answer"] == "no"
    assert texts["a penguin cannot fly ."] == penguin["count"] == 1 and texts["a penguin can fly ."] == 0
    assert texts["birds can fly ."] == 20 and texts["a robin can fly ."] == 6


def test_exceptions_and_controls_have_the_same_background():
    data = defaults_corpus(seed=0, **SMALL)

    def background(it):  # every sentence about the member but the measured one, its name replaced by X
        x = it["entity"]
        return Counter(
            t.replace(f" {x} ", " X ")
            for t in data["texts"]
            if f" {x} " in t and t not in (it["default_text"], it["other_text"])
        )

    ex = [i for i in data["items"] if i["role"] == "exception" and not i["world"]]
    co = [i for i in data["items"] if i["role"] == "control"]
    assert len(ex) == len(co) == 18
    for e, c in zip(ex, co):
        assert (e["category"], e["count"]) == (c["category"], c["count"])
        assert background(e) == background(c) and sum(background(e).values()) == 6


def test_ordinary_members_make_exceptions_rare():
    data = defaults_corpus(seed=0, counts=(1,), per_count=1, n_ordinary=10, n_filler=0)
    birds = {t.split()[1] for t in data["texts"] if t.endswith(" is a bird .")}
    cannot = {t.split()[1] for t in data["texts"] if t.endswith("cannot fly .")} & birds
    can = {t.split()[1] for t in data["texts"] if t.endswith(" can fly .")} & birds
    assert len(birds) == 8 + 10 + 2  # the world's, the ordinary made-up ones, one exception and one control
    assert (
        len(cannot) == 2 and len(can) == 7 + 10 + 1
    )  # only the penguin and the made-up exception cannot fly


def test_negatives_are_a_knob_and_filler_comes_from_the_world():
    a = defaults_corpus(seed=0, negatives=True, **SMALL)
    b = defaults_corpus(seed=0, **SMALL)
    x = b["items"][1]["entity"]
    assert not any(x in t and "cannot" in t for t in b["texts"] if t != b["items"][1]["other_text"])
    y = a["items"][1]["entity"]
    assert any(y in t and "cannot" in t and a["items"][1]["property"] not in t for t in a["texts"])
    c = defaults_corpus(seed=0, **{**SMALL, "n_filler": 2000})
    # the world's general corpus, less the penguin's flights
    assert 1900 <= len(c["texts"]) - len(b["texts"]) < 2000
    assert not any("penguin flew" in t for t in c["texts"])
    assert any(" flew " in t for t in c["texts"])  # other birds still fly


def test_seeded():
    assert defaults_corpus(seed=3, **SMALL) == defaults_corpus(seed=3, **SMALL)
    assert defaults_corpus(seed=3, **SMALL)["texts"] != defaults_corpus(seed=4, **SMALL)["texts"]


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(counts=()), ValueError, "counts is empty"),
        (dict(counts=4), TypeError, "list of ints"),
        (dict(counts=(1, 1)), ValueError, "distinct"),
        (dict(counts=(0, -1)), ValueError, "each count"),
        (dict(counts=(0, 1.5)), ValueError, "each count"),
        (dict(per_count=0), ValueError, "per_count"),
        (dict(mentions=0), ValueError, "mentions"),
        (dict(penguin=-1), ValueError, "penguin"),
        (dict(n_ordinary=-2), ValueError, "n_ordinary"),
        (dict(n_filler=True), ValueError, "n_filler"),
        (dict(negatives="no"), TypeError, "negatives"),
        (dict(seed=-1), ValueError, "seed"),
    ],
)
def test_defaults_corpus_rejects_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        defaults_corpus(**{**SMALL, **kwargs})


# ---------------------------------------------------------------------------------------------- measuring


@pytest.fixture(scope="module")
def trained():
    data = defaults_corpus(seed=0, **SMALL)
    torch.manual_seed(0)
    model, tok, history = cd.train_defaults_gpt(data, seed=0, steps=30)
    return data, model, tok, history


def test_train_defaults_gpt_knows_every_measured_word(trained):
    data, model, tok, history = trained
    assert len(history["loss"]) == 30 and not model.training
    words = {w for it in data["items"] for w in (it["default_text"] + " " + it["other_text"]).split()}
    assert all(tok.token_to_id(w) != tok.unk_id for w in words)


def test_margins_are_the_difference_of_sentence_log_probs(trained):
    data, model, tok, _ = trained
    items = data["items"][:5]
    m = cd.default_margins(model, tok, items)
    for it, got in zip(items, m):
        a, b = token_log_probs(model, tok, [it["default_text"], it["other_text"]])
        assert got == pytest.approx(float(a.sum() - b.sum()), abs=1e-4)


def test_answers_follow_the_sign_of_the_margin(trained):
    data, model, tok, _ = trained
    items = data["items"]
    m = cd.default_margins(model, tok, items)
    got = cd.answers(model, tok, items)
    assert got == [("yes" if x > 0 else "no") for x in m]  # every default here is "yes"
    flipped = [
        {**it, "default_answer": "no", "default_text": it["other_text"], "other_text": it["default_text"]}
        for it in items
    ]
    assert (
        cd.answers(model, tok, flipped) == got
    )  # the same model, the same beliefs, read the other way round


def test_default_rates_by_role_and_count():
    items = [
        {"default_text": "", "other_text": "", "default_answer": "yes", "role": r, "count": k}
        for r, k in [("exception", 0), ("exception", 0), ("exception", 2), ("control", 0), ("control", 2)]
    ]
    rates = cd.default_rates(items, ["yes", "no", "no", "yes", "yes"])
    assert rates == {("control", 0): 1.0, ("control", 2): 1.0, ("exception", 0): 0.5, ("exception", 2): 0.0}
    items[0]["default_answer"] = "no"
    assert cd.default_rates(items, ["yes", "no", "no", "yes", "yes"])[("exception", 0)] == 0.0


@pytest.mark.parametrize(
    "given, err, match",
    [
        (["yes"], ValueError, "one answer per item"),
        ("yes", TypeError, "list of answers"),
        (["yes", "maybe"], ValueError, "'yes' or 'no'"),
    ],
)
def test_default_rates_rejects_bad_answers(given, err, match):
    items = [
        {"default_text": "", "other_text": "", "default_answer": "yes", "role": "control", "count": 0}
    ] * 2
    with pytest.raises(err, match=match):
        cd.default_rates(items, given)


def test_bad_items_and_data_are_refused(trained):
    data, model, tok, _ = trained
    with pytest.raises(TypeError, match="data\\['items'\\]"):
        cd.answers(model, tok, data)
    with pytest.raises(ValueError, match="empty"):
        cd.default_margins(model, tok, [])
    with pytest.raises(ValueError, match="each item must be a dict"):
        cd.default_rates([{"role": "control"}], ["yes"])
    with pytest.raises(TypeError, match="defaults_corpus"):
        cd.train_defaults_gpt(data["texts"])


# ---------------------------------------------------------------------------------------------- exercises


def test_exercises_registered_under_the_chapter():
    assert {"inherit_property", "exception_never_stated"} <= set(names())
    assert EXERCISES["inherit_property"].chapter == "challenges"
    assert EXERCISES["exception_never_stated"].chapter == "challenges"


def test_inherit_property_reference_passes():
    assert run_check("inherit_property", reference("inherit_property")) == (
        "correct",
        "inherit_property: Correct!",
    )


def _walk(entity, prop, parent, facts, start=0, levels=None, last=False):
    chain = [entity]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    chain = chain[start:][:levels]
    found = [facts[(n, prop)] for n in chain if (n, prop) in facts]
    return (found[-1] if last else found[0]) if found else False


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda x, p, par, f: _walk(x, p, par, f, start=1), "entity's parent"),
        (lambda x, p, par, f: _walk(x, p, par, f, last=True), "nearest one must win"),
        (lambda x, p, par, f: _walk(x, p, par, f, levels=2), "entity and its parent only"),
        (lambda x, p, par, f: f.get((x, p), f.get((par.get(x), p), True)), "should be"),
        (lambda x, p, par, f: "yes" if _walk(x, p, par, f) else "no", "return True or False"),
        (lambda x, p, par, f: _walk(x, p, par, f) or None, "return True or False"),
    ],
)
def test_inherit_property_says_what_is_wrong(wrong, words):
    status, msg = run_check("inherit_property", wrong)
    assert status == "wrong" and words in msg, msg


def test_exception_never_stated_question():
    assert run_check("exception_never_stated", "b")[0] == "correct"
    status, msg = run_check("exception_never_stated", "(a)")
    assert status == "wrong" and "stated 0 times" in msg
    assert run_check("exception_never_stated", "z")[0] == "wrong"
    assert run_check("exception_never_stated", None)[0] == "not attempted"
