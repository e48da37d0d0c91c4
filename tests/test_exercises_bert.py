import random

import torch
import torch.nn.functional as F

from lmnotes import exercises
from lmnotes.exercises import run_check

NAMES = ["mask_tokens", "segment_ids", "nsp_example", "pretraining_loss"]


def test_references_pass():
    for name in NAMES:
        status, msg = run_check(name, exercises.reference(name))
        assert status == "correct", msg


def test_unattempted_stub():
    def stub(*args, **kwargs):
        raise NotImplementedError

    for name in NAMES:
        assert run_check(name, stub)[0] == "not attempted"


def test_mask_that_keeps_cls_is_told_so():
    def wrong(input_ids, mask_id, vocab_size, special_ids):
        picked = (torch.rand(input_ids.shape) < 0.15) & (input_ids != 0)  # forgets [CLS] and [SEP]
        picked[:, 0] = True
        labels = torch.where(picked, input_ids, torch.full_like(input_ids, -100))
        return torch.where(picked, torch.full_like(input_ids, mask_id), input_ids), labels

    status, msg = run_check("mask_tokens", wrong)
    assert status == "wrong" and "[CLS]" in msg and "never be masked" in msg


def test_mask_without_random_or_kept_tokens():
    def wrong(input_ids, mask_id, vocab_size, special_ids):
        picked = (torch.rand(input_ids.shape) < 0.15) & ~torch.isin(input_ids, torch.tensor(special_ids))
        labels = torch.where(picked, input_ids, torch.full_like(input_ids, -100))
        return torch.where(picked, torch.full_like(input_ids, mask_id), input_ids), labels

    status, msg = run_check("mask_tokens", wrong)
    assert status == "wrong" and "80% / 10% / 10%" in msg


def test_segment_ids_with_sep_in_segment_1():
    def wrong(input_ids, sep_id, pad_id):
        seps = torch.cumsum((input_ids == sep_id).long(), dim=1)  # counts the [SEP] itself
        return ((seps >= 1) & (input_ids != pad_id)).long()

    status, msg = run_check("segment_ids", wrong)
    assert status == "wrong" and "first [SEP]" in msg


def test_nsp_random_from_same_document():
    def wrong(documents, d, i, is_random, rng):
        if not is_random:
            return documents[d][i], documents[d][i + 1], 0
        return documents[d][i], rng.choice(documents[rng.randrange(len(documents))]), 1

    status, msg = run_check("nsp_example", wrong)
    assert status == "wrong" and "own document" in msg


def test_nsp_label_convention():
    def wrong(documents, d, i, is_random, rng):
        return documents[d][i], documents[d][i + 1], 1

    status, msg = run_check("nsp_example", wrong)
    assert status == "wrong" and "label 0" in msg


def test_loss_that_counts_unmasked_positions():
    def wrong(mlm_logits, nsp_logits, mlm_labels, nsp_labels):
        V = mlm_logits.shape[-1]
        return F.cross_entropy(mlm_logits.view(-1, V), mlm_labels.clamp(min=0).view(-1)) + F.cross_entropy(
            nsp_logits, nsp_labels
        )

    status, msg = run_check("pretraining_loss", wrong)
    assert status == "wrong" and "unmasked positions" in msg


def test_loss_without_nsp():
    def wrong(mlm_logits, nsp_logits, mlm_labels, nsp_labels):
        V = mlm_logits.shape[-1]
        return F.cross_entropy(mlm_logits.view(-1, V), mlm_labels.view(-1))

    status, msg = run_check("pretraining_loss", wrong)
    assert status == "wrong" and "next-sentence" in msg


def test_solution_renders_collapsed():
    html = exercises.solution("mask_tokens")._repr_html_()
    assert html.startswith("<details>") and "def mask_tokens" in html
    random.seed(0)


def _expected_layer_clipped(acc):
    gains = [max(0.0, a - b) for a, b in zip(acc[1:], acc[:-1])]
    return sum((i + 1) * g for i, g in enumerate(gains)) / sum(gains)


def test_expected_layer_reference_matches_a_hand_computation():
    fn = exercises.reference("expected_layer")
    # gains 0.4, 0.05, 0 (a loss, clipped), 0.06 -> (0.4 + 0.1 + 0.24) / 0.51
    assert abs(fn([0.5, 0.9, 0.95, 0.93, 0.99]) - 0.74 / 0.51) < 1e-9
    assert run_check("expected_layer", _expected_layer_clipped)[0] == "correct"


def test_expected_layer_without_clipping():
    def wrong(acc):
        gains = [a - b for a, b in zip(acc[1:], acc[:-1])]
        return sum((i + 1) * g for i, g in enumerate(gains)) / sum(gains)

    status, msg = run_check("expected_layer", wrong)
    assert status == "wrong" and "clip the gains at 0" in msg


def test_expected_layer_off_by_one():
    def wrong(acc):
        gains = [max(0.0, a - b) for a, b in zip(acc[1:], acc[:-1])]
        return sum(i * g for i, g in enumerate(gains)) / sum(gains)

    status, msg = run_check("expected_layer", wrong)
    assert status == "wrong" and "one too low" in msg


def test_expected_layer_weighted_by_accuracy():
    status, msg = run_check("expected_layer", lambda acc: sum(i * a for i, a in enumerate(acc)) / sum(acc))
    assert status == "wrong" and "weighted each layer by its accuracy" in msg


def test_expected_layer_best_layer():
    status, msg = run_check("expected_layer", lambda acc: acc.index(max(acc)))
    assert status == "wrong" and "returned one layer" in msg


def test_bert_questions():
    assert run_check("mask_share", 0.12)[0] == "correct"
    for value, words in (
        (0.15, "share of tokens picked"),
        (0.8, "PICKED tokens"),
        (0.135, "random replacements"),
    ):
        status, msg = run_check("mask_share", value)
        assert status == "wrong" and words in msg, msg
    assert run_check("sentiment_pretraining", "b")[0] == "correct"
    status, msg = run_check("sentiment_pretraining", "a")
    assert status == "wrong" and "different blanks" in msg


def test_hints_do_not_spell_out_the_code():
    for name in NAMES:
        hint = exercises.EXERCISES[name].hint
        assert (
            "F.cross_entropy(" not in hint and "torch.cumsum" not in hint and "rng.randrange" not in hint
        ), hint


def test_control_task_reference_agrees_with_the_package():
    from lmnotes.analysis import control_labels

    assert run_check("control_task", exercises.reference("control_task"))[0] == "correct"
    assert run_check("control_task", lambda w, y, seed: control_labels(w, y, seed=seed))[0] == "correct"


def test_control_task_mistakes():
    def per_occurrence(words, labels, seed):
        rng = random.Random(seed)
        return [rng.choice(sorted(set(labels))) for _ in words]

    def fixed(words, labels, seed):
        return [hash(w) % 2 for w in words]

    def one_label(words, labels, seed):
        return [random.Random(seed).choice([0, 1])] * len(words)

    for fn, words in (
        (lambda w, y, s: list(y), "the real labels"),
        (per_occurrence, "word TYPE"),
        (lambda w, y, s: [2] * len(w), "own labels"),
        (fixed, "every seed gave the same"),
        (one_label, "every word got the same label"),
    ):
        status, msg = run_check("control_task", fn)
        assert status == "wrong" and words in msg, msg
