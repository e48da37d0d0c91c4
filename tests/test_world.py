"""The seeded world: determinism, annotation consistency, ground truth, bad input."""

import pytest

from lmnotes.data import world as W


def test_same_seed_same_corpus_and_different_seed_differs():
    a = W.corpus(300, seed=3)
    b = W.corpus(300, seed=3)
    c = W.corpus(300, seed=4)
    for split in W.SPLITS:
        assert a[split]["text"] == b[split]["text"]
    assert a["train"]["text"] != c["train"]["text"]


def test_splits_sizes_and_columns():
    ds = W.corpus(200, seed=0)
    assert [len(ds[s]) for s in W.SPLITS] == [160, 20, 20]
    assert ds["train"].column_names == ds["test"].column_names


def test_every_token_is_annotated_with_a_known_tag():
    ds = W.corpus(500, seed=1)["train"]
    for row in ds:
        assert len(row["words"]) == len(row["pos"]) == len(row["sense"])
        assert row["text"] == " ".join(row["words"])
        assert set(row["pos"]) <= set(W.TAGS)
        assert row["words"][-1] in {".", "?"}


def test_sense_labels_sit_on_the_ambiguous_word_and_the_cue_decides_them():
    for side in ("left", "right", "both"):
        ds = W.sense_corpus(200, seed=0, cue_side=side, cue_distance=(4, 9))["train"]
        for row in ds:
            t = row["target_index"]
            assert row["words"][t] == row["target"]
            assert row["sense"][t] == f"{row['target']}/{row['label']}"
            assert sum(s != "" for s in row["sense"]) == 1
            for c in row["cue_index"]:
                assert row["words"][c] in W.SENSES[row["target"]][row["label"]]
                assert 4 <= abs(c - t) <= 9 or side == "both"
                assert (c < t) == (side == "left") or side == "both"


def test_cue_distance_is_exact():
    w = W.World(0)
    for d in (1, 4, 7, 12):
        s = w.sense_sentence("bat", cue_side="left", cue_distance=d)
        assert s["target_index"] - s["cue_index"][0] == d
    s = w.sense_sentence("bat", cue_side="right", cue_distance=10)
    assert s["cue_index"][0] - s["target_index"] == 10


def test_senses_are_balanced():
    labels = W.sense_corpus(400, seed=0, words=["bank"])["train"]["label"]
    assert abs(labels.count("river") - labels.count("money")) < 0.15 * len(labels)


def test_noun_verb_words_carry_the_right_tag():
    for row in W.pos_corpus(200, seed=0)["train"]:
        assert row["pos"][row["target_index"]] == row["label"]
        assert row["words"][row["target_index"]] == row["target"]


def test_ground_truth_and_exceptions():
    w = W.World(0)
    assert w.category_of("robin") == "bird"
    assert w.is_true("robin", "can fly")
    assert not w.is_true("penguin", "can fly") and w.is_true("penguin", "can swim")
    assert not w.is_true("salmon", "has fur")


def test_held_out_facts_never_appear_in_training_text():
    w = W.World(0)
    assert w.held_out_facts
    ds = W.corpus(3000, seed=0)
    stated = {
        (r["subject"], r["property"]) for split in W.SPLITS for r in ds[split] if r["kind"] == "property"
    }
    assert not stated & set(w.held_out_facts)
    docs = W.documents(300, seed=0)["train"]
    texts = {s for d in docs for s in d["sentences"]}
    for x, p in w.held_out_facts:
        for det in ("a", "an", "the"):
            assert f"{det} {x} {p} ." not in texts


def test_facts_split_train_true_test_held_out_or_false():
    f = W.facts(seed=0)
    assert all(r["true"] and not r["held_out"] for r in f["train"])
    assert all((not r["true"]) or r["held_out"] for r in f["test"])
    assert any(r["held_out"] for r in f["test"])


def test_reviews_balanced_and_labels_follow_the_majority_of_sentences():
    ds = W.reviews(400, seed=0)["train"]
    assert 0.4 < sum(ds["label"]) / len(ds) < 0.6
    neg = sum("not" in r["words"] for r in ds)
    assert neg > 0  # negation is there to defeat a bag of words


def test_documents_stay_on_topic():
    for d in W.documents(100, seed=0)["train"]:
        assert 3 <= len(d["sentences"]) <= 6
        assert len(set(d["sentences"])) == len(d["sentences"])
        assert all(d["topic"] in s.split() for s in d["sentences"])


def test_instructions_hold_out_phrasings_and_facts():
    ds = W.instructions(600, seed=0)
    assert not any(ds["train"]["held_out_phrasing"]) and not any(ds["validation"]["held_out_phrasing"])
    assert any(ds["test"]["held_out_phrasing"])
    assert not any(ds["train"]["held_out_fact"])
    for r in ds["train"].select(range(50)):
        assert r["text"] == f"{r['prompt']} answer : {r['answer']}"
    assert set(ds["train"]["task"]) == set(W.INSTRUCTION_TEMPLATES)


def test_instruction_answers_are_true_in_the_world():
    w = W.World(0)
    for r in W.instructions(300, seed=0, tasks=["category"])["train"]:
        x = r["prompt"].replace("?", "").replace(".", "").split()
        ent = [t for t in x if t in w.entities][0]
        assert r["answer"] == w.category_of(ent)


@pytest.mark.parametrize(
    "call, msg",
    [
        (lambda: W.corpus(0), "n must be"),
        (lambda: W.corpus(10, seed=-1), "seed must be"),
        (lambda: W.corpus(10, split=(0.5, 0.5, 0.5)), "split must be"),
        (lambda: W.sense_corpus(10, words=["river"]), "words must be among"),
        (lambda: W.sense_corpus(10, cue_side="up"), "cue_side must be"),
        (lambda: W.sense_corpus(10, cue_side="right", cue_distance=2), "no distance the 'right' template"),
        (lambda: W.sense_corpus(10, cue_distance=99), "cue_distance must be"),
        (lambda: W.instructions(10, tasks=["poetry"]), "tasks must be among"),
        (lambda: W.World(0).category_of("unicorn"), "unknown entity"),
        (lambda: W.World(0).is_true("robin", "can sing"), "unknown property"),
        (lambda: W.documents(5, n_sentences=(1, 3)), "n_sentences"),
    ],
)
def test_bad_input_names_the_argument(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_load_text_reads_a_local_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("the robin can fly .\na bank is near the river .\n")
    ds = W.load_text(str(p))
    assert ds["train"]["text"] == ["the robin can fly .", "a bank is near the river ."]


def test_load_text_offline_fails_fast_naming_the_offline_corpora(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConnectionError, match="need no network"):
        W.load_text("some-user/some-dataset")
    with pytest.raises(FileNotFoundError):
        W.load_text("missing/notes.txt")


def test_online_is_false_when_the_hub_is_switched_off(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert W.online() is False
