"""Zero-shot and k-shot prompting of the world's GPT: what the model reads, and how examples are drawn."""

import pytest
import torch

from lmnotes.data import WordTokenizer
from lmnotes.models.gpt import GPT, GPTConfig
from lmnotes.recipes.gpt import answer_accuracy, draw_shots, predict_answers, prompt_ids

ROWS = [
    {"task": "antonym", "phrasing": 0, "prompt": "what is the opposite of big ?", "answer": "small"},
    {"task": "antonym", "phrasing": 0, "prompt": "what is the opposite of old ?", "answer": "young"},
    {"task": "antonym", "phrasing": 0, "prompt": "what is the opposite of dark ?", "answer": "light"},
    {"task": "antonym", "phrasing": 1, "prompt": "opposite of big ?", "answer": "small"},
    {"task": "isa", "phrasing": 0, "prompt": "is a robin a bird ?", "answer": "yes"},
    {"task": "isa", "phrasing": 0, "prompt": "is a carp a bird ?", "answer": "no"},
]


@pytest.fixture(scope="module")
def tok():
    return WordTokenizer().train([r["prompt"] + " answer : " + r["answer"] for r in ROWS])


def test_prompt_ids_zero_shot_is_the_question(tok):
    assert prompt_ids(tok, ROWS[0]) == [tok.bos_id] + tok.encode(ROWS[0]["prompt"] + " answer :")


def test_prompt_ids_puts_each_example_in_its_own_text(tok):
    ids = prompt_ids(tok, ROWS[0], [ROWS[1], ROWS[2]])
    text = tok.decode(ids)
    assert text == (
        "[BOS] what is the opposite of old ? answer : young [EOS] "
        "[BOS] what is the opposite of dark ? answer : light [EOS] "
        "[BOS] what is the opposite of big ? answer :"
    )


def test_prompt_ids_drops_the_earliest_examples_that_do_not_fit(tok):
    question = prompt_ids(tok, ROWS[0])
    one = prompt_ids(tok, ROWS[0], [ROWS[2]])
    ids = prompt_ids(tok, ROWS[0], [ROWS[1], ROWS[2]], max_len=len(one))
    assert ids == one  # the later (nearer) example is kept
    assert prompt_ids(tok, ROWS[0], [ROWS[1]], max_len=len(question)) == question
    with pytest.raises(ValueError, match="longer than the model's context"):
        prompt_ids(tok, ROWS[0], max_len=len(question) - 1)


def test_draw_shots_same_task_and_phrasing_never_the_question():
    shots = draw_shots(ROWS[:3], ROWS, k=2, seed=0)
    for r, s in zip(ROWS[:3], shots):
        assert len(s) == 2
        assert all(d["task"] == r["task"] and d["phrasing"] == r["phrasing"] for d in s)
        assert all(d["prompt"] != r["prompt"] for d in s)
    assert draw_shots(ROWS[:3], ROWS, k=2, seed=0) == shots  # reproducible
    assert draw_shots(ROWS[4:5], ROWS, k=1, seed=0) == [[ROWS[5]]]
    assert draw_shots(ROWS, ROWS, k=0) == [[] for _ in ROWS]


def test_draw_shots_says_when_the_pool_is_too_small():
    with pytest.raises(ValueError, match="fewer than k=1"):
        draw_shots(ROWS[3:4], ROWS, k=1)  # phrasing 1 has no other example
    with pytest.raises(ValueError, match="k must be"):
        draw_shots(ROWS, ROWS, k=-1)


def test_predict_answers_reads_the_examples(tok):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=48, n_layer=1, n_head=2, d_model=16))
    rows = ROWS[:3]
    assert predict_answers(model, tok, rows) == predict_answers(model, tok, rows, shots=[[] for _ in rows])
    shots = draw_shots(rows, ROWS, k=2, seed=0)
    # the examples change what the last position sees, so its scores change
    ids0 = torch.tensor([prompt_ids(tok, rows[0])])
    ids2 = torch.tensor([prompt_ids(tok, rows[0], shots[0], max_len=48)])
    with torch.no_grad():
        assert not torch.allclose(model(ids0).logits[0, -1], model(ids2).logits[0, -1])
    # predict_answers reads exactly prompt_ids: its word is the argmax at the last position of those ids
    with torch.no_grad():
        want = [
            tok.id_to_token(
                model(torch.tensor([prompt_ids(tok, r, s, max_len=48)])).logits[0, -1].argmax().item()
            )
            for r, s in zip(rows, shots)
        ]
    assert predict_answers(model, tok, rows, shots=shots) == want
    acc = answer_accuracy(model, tok, rows, shots=shots)
    assert 0.0 <= acc <= 1.0
    with pytest.raises(ValueError, match="one list per row"):
        predict_answers(model, tok, rows, shots=shots[:1])
