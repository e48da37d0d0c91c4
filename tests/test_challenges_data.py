"""The challenges chapter's corpus knobs: seeded, each knob does what it says, bad input is refused."""

import pytest

from lmnotes.data import challenges as dc
from lmnotes.data.world import TAXONOMY, World

# ---------------------------------------------------------------------------------------------- names


def test_person_names_are_distinct_seeded_and_not_world_words():
    a, b = dc.person_names(200, seed=0), dc.person_names(200, seed=0)
    assert a == b and len(set(a)) == 200
    assert dc.person_names(200, seed=1) != a
    assert dc.person_names(50, seed=0) == a[:50]
    world_words = dc._world_words()
    assert not set(a) & world_words
    assert all(len(n) == 4 and n[-1] in "aiou" for n in a)


@pytest.mark.parametrize("bad", [-1, 2.5, True, 100_000])
def test_person_names_rejects_bad_n(bad):
    with pytest.raises(ValueError, match="n must be"):
        dc.person_names(bad)


# ---------------------------------------------------------------------------------------------- commands


def test_commands_interpret_the_grammar():
    rows = {r["command"]: r["actions"] for r in dc.commands()}
    assert len(rows) == 10440
    assert rows["jump"] == "JUMP"
    assert rows["walk left twice"] == "LTURN WALK LTURN WALK"
    assert rows["turn opposite right"] == "RTURN RTURN"
    assert rows["jump twice and walk left"] == "JUMP JUMP LTURN WALK"
    assert rows["jump twice after walk left"] == "LTURN WALK JUMP JUMP"
    assert "turn" not in rows and "turn twice" not in rows  # turn needs a direction


def test_commands_language_can_shrink():
    rows = dc.commands(directions=("", "left"), repeats=("",), conjunctions=("and",))
    # walk/run/look/jump, their "left" forms, and "turn left": 9 phrases; plus 81 pairs joined by "and"
    assert len(rows) == 9 + 81
    with pytest.raises(ValueError, match="unknown words"):
        dc.commands(directions=("up",))
    with pytest.raises(ValueError, match="no phrase"):
        dc.commands(directions=(), repeats=("",))


def test_random_split_partitions_the_commands():
    s = dc.command_split("random", train_share=0.8, seed=0)
    train, test = {r["command"] for r in s["train"]}, {r["command"] for r in s["test"]}
    assert not train & test and len(train) + len(test) == 10440
    assert abs(len(train) / 10440 - 0.8) < 0.001
    assert dc.command_split("random", seed=0) == s and dc.command_split("random", seed=1) != s


def test_add_primitive_split_shows_the_primitive_alone_only():
    s = dc.command_split("add_primitive", primitive="jump", seed=0)
    with_jump = [r for r in s["train"] if "jump" in r["command"].split()]
    assert with_jump == [{"command": "jump", "actions": "JUMP"}]
    assert s["test"] and all("jump" in r["command"].split() and r["command"] != "jump" for r in s["test"])
    assert len(s["train"]) + len(s["test"]) == 10440


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "odd"}, "kind must be"),
        ({"primitive": "swim"}, "primitive must be"),
        ({"train_share": 1.5}, "train_share"),
        ({"seed": -1}, "seed"),
    ],
)
def test_command_split_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.command_split(**kwargs)


# ---------------------------------------------------------------------------------------------- relations


def test_relation_corpus_states_one_way_pairs_one_way_only():
    d = dc.relation_corpus(n_pairs=10, two_way_share=0.4, repeats=3, seed=0)
    assert len(d["one_way"]) == 6 and len(d["two_way"]) == 4
    texts = d["texts"]
    assert len(texts) == 6 * 3 + 4 * 2 * 3
    for a, b in d["one_way"]:
        assert texts.count(f"the partner of {a} is {b} .") == 3
        assert not any(t.startswith(f"the partner of {b} ") for t in texts)
    for a, b in d["two_way"]:
        assert texts.count(f"the partner of {b} is {a} .") == 3
    assert dc.relation_corpus(10, 0.4, 3, seed=0) == d


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_pairs": 0}, "n_pairs"), ({"two_way_share": -0.1}, "two_way_share"), ({"repeats": 0}, "repeats")],
)
def test_relation_corpus_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.relation_corpus(**kwargs)


# ---------------------------------------------------------------------------------------------- negation


@pytest.mark.parametrize("share", [0.0, 0.01, 0.2])
def test_negation_corpus_has_the_share_asked_for_and_only_true_negations(share):
    d = dc.negation_corpus(1000, share=share, seed=0)
    neg = [t for t in d["texts"] if " is not " in t]
    assert abs(len(neg) / len(d["texts"]) - share) < 0.005
    world = World(0)
    for t in neg:
        w = t.split()
        assert w[1] in d["negated_entities"] and w[-2] in TAXONOMY and world.category_of(w[1]) != w[-2]
    assert not set(d["negated_entities"]) & set(d["test_entities"])
    assert sorted(d["negated_entities"] + d["test_entities"]) == sorted(world.entities)
    assert any(" not " in t for t in d["texts"])  # reviews use "not" even at share 0


def test_negation_corpus_rejects_bad_share():
    with pytest.raises(ValueError, match="share"):
        dc.negation_corpus(100, share=1.0)
    with pytest.raises(ValueError, match="share"):
        dc.negation_corpus(100, share="some")


# ---------------------------------------------------------------------------------------------- fact frequency


def test_fact_corpus_states_each_fact_as_often_as_asked():
    d = dc.fact_corpus(frequencies=(1, 3), per_frequency=4, n_unstated=5, mentions=2, n_filler=50, seed=0)
    texts = d["texts"]
    assert len(d["facts"]) == 8 and len(d["unstated"]) == 5
    for f in d["facts"]:
        assert texts.count(f"{f['person']} lives in {f['city']} .") == f["frequency"]
        assert sum(t.startswith(f"{f['person']} lives in") for t in texts) == f["frequency"]
    for u in d["unstated"]:
        assert not any(t.startswith(f"{u['person']} lives in") for t in texts)
        assert sum(t.startswith(f"{u['person']} likes the") for t in texts) == 2  # a known name
        assert u["city"] in dc.CITIES
    assert len(texts) == 4 + 12 + 13 * 2 + 50
    assert dc.fact_corpus(seed=3, n_filler=10) == dc.fact_corpus(seed=3, n_filler=10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frequencies": ()}, "frequencies is empty"),
        ({"frequencies": (0, 1)}, "each frequency"),
        ({"per_frequency": 0}, "per_frequency"),
        ({"n_filler": -1}, "n_filler"),
    ],
)
def test_fact_corpus_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.fact_corpus(**kwargs)


# ---------------------------------------------------------------------------------------------- canaries


def test_canary_corpus_inserts_each_canary_r_times():
    d = dc.canary_corpus(repeats=(1, 4), per_repeat=3, n_unseen=2, n_digits=4, n_filler=30, seed=0)
    cs = d["canaries"]
    assert [c["repeats"] for c in cs] == [1, 1, 1, 4, 4, 4, 0, 0]
    for c in cs:
        assert d["texts"].count(f"{c['prefix']} {c['secret']} .") == c["repeats"]
        assert not any(t.startswith(c["prefix"]) and c["secret"] not in t for t in d["texts"])
        digits = c["secret"].split()
        assert len(digits) == 4 and all(x in "0123456789" and len(x) == 1 for x in digits)
    assert len({c["prefix"] for c in cs}) == len(cs)
    # canary names are not the names the other corpora start with
    assert not {c["prefix"].split()[3] for c in cs} & set(dc.person_names(200, seed=0))
    assert len(d["texts"]) == 30 + 3 + 12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"repeats": (0,)}, "repeat count"),
        ({"n_digits": 9}, "n_digits"),
        ({"repeats": (), "n_unseen": 0}, "no canaries"),
    ],
)
def test_canary_corpus_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.canary_corpus(**kwargs)


# ---------------------------------------------------------------------------------------------- benchmark


@pytest.mark.parametrize("repeats", [1, 4, (1, 4)])
def test_benchmark_corpus_leaks_the_share_asked_for(repeats):
    d = dc.benchmark_corpus(
        n_items=40, leak_share=0.5, leak_repeats=repeats, n_practice=10, n_filler=20, seed=0
    )
    items, texts = d["items"], d["texts"]
    counts = [repeats] if isinstance(repeats, int) else list(repeats)
    assert sum(i["leaked"] for i in items) == 20
    for r in counts:
        assert sum(i["repeats"] == r for i in items) == 20 // len(counts)
    for i in items:
        assert i["text"] == f"{i['question']} {i['answer']}" and i["question"].endswith("answer :")
        assert texts.count(i["text"]) == i["repeats"] and i["leaked"] == (i["repeats"] > 0)
        person = i["question"].split()[4]
        assert texts.count(f"{person} lives in {i['answer']} .") == 1  # every fact is stated once
        # leaked or not, a benchmark person's name is seen equally often
        assert sum(person in t.split() for t in texts) == 1 + max(counts)
    practice = [t for t in texts if t.startswith("question") and t not in {i["text"] for i in items}]
    assert len(practice) == 10


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"leak_share": 2}, "leak_share"),
        ({"leak_repeats": 0}, "leak_repeats"),
        ({"leak_repeats": ()}, "empty"),
        ({"n_items": 0}, "n_items"),
    ],
)
def test_benchmark_corpus_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.benchmark_corpus(**kwargs)
