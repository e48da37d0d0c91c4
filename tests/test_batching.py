"""Tests of lmnotes.data.batching: padding, LM windows, dataset tokenizing, seeded loaders."""

from __future__ import annotations

import itertools

import pytest
import torch

from lmnotes.data.batching import infinite, lm_windows, make_loader, pad_batch, pad_collate, tokenize_dataset
from lmnotes.data.tokenizers import WordTokenizer

SENTENCES = ["the robin can fly .", "the clerk put money in the bank .", "a penguin is a bird ."]


def test_pad_batch_right():
    batch = pad_batch([[5, 9, 6], [5, 6], [7]], pad_id=0)
    assert set(batch) == {"input_ids", "attention_mask"}
    assert batch["input_ids"].dtype == batch["attention_mask"].dtype == torch.long
    assert batch["input_ids"].tolist() == [[5, 9, 6], [5, 6, 0], [7, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0]]


def test_pad_batch_left_and_max_length():
    batch = pad_batch([[5, 9, 6], [5, 6]], pad_id=0, side="left")
    assert batch["input_ids"].tolist() == [[5, 9, 6], [0, 5, 6]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 1, 1]]
    batch = pad_batch([[5, 9, 6, 8], [5]], pad_id=2, max_length=3)
    assert batch["input_ids"].tolist() == [[5, 9, 6], [5, 2, 2]]  # cut to max_length, padded to it
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_pad_batch_pads_labels_with_minus_100():
    batch = pad_batch([[5, 9, 6], [5]], pad_id=0, labels=[[1, 2, 3], [4]])
    assert batch["labels"].tolist() == [[1, 2, 3], [4, -100, -100]]
    batch = pad_batch([[5, 9], [5]], pad_id=0, labels={"pos": [[1, 2], [3]], "sense": [[0, 1], [1]]})
    assert batch["pos"].tolist() == [[1, 2], [3, -100]]
    assert batch["sense"].tolist() == [[0, 1], [1, -100]]
    # the mask and the -100 labels agree: a padded position is never a target
    assert ((batch["pos"] == -100) == (batch["attention_mask"] == 0)).all()


def test_pad_batch_accepts_tensors():
    batch = pad_batch([torch.tensor([1, 2, 3]), torch.tensor([4])], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]


def test_pad_batch_errors_name_the_argument():
    with pytest.raises(ValueError, match="sequences is empty"):
        pad_batch([], pad_id=0)
    with pytest.raises(ValueError, match='side must be "right" or "left", got \'middle\''):
        pad_batch([[1]], pad_id=0, side="middle")
    with pytest.raises(ValueError, match="max_length must be an integer >= 1 or None, got 0"):
        pad_batch([[1]], pad_id=0, max_length=0)
    with pytest.raises(ValueError, match=r"labels 'labels'\[0\] has 1 entries but sequences\[0\] has 2 tokens"):
        pad_batch([[1, 2]], pad_id=0, labels=[[1]])
    with pytest.raises(TypeError, match="sequences must be a list of id lists"):
        pad_batch("the cat", pad_id=0)


def test_lm_windows_targets_are_inputs_shifted_by_one():
    ids = list(range(100, 111))  # 11 tokens
    x, y = lm_windows(ids, block_size=4)
    assert x.shape == y.shape == (2, 4)  # (11 - 1 - 4) // 4 + 1 = 2
    assert x.tolist() == [[100, 101, 102, 103], [104, 105, 106, 107]]
    assert y.tolist() == [[101, 102, 103, 104], [105, 106, 107, 108]]
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_lm_windows_with_stride_and_tensor_input():
    stream = torch.arange(10)
    x, y = lm_windows(stream, block_size=4, stride=2)
    assert x.shape == (3, 4)  # (10 - 1 - 4) // 2 + 1 = 3
    assert x[:, 0].tolist() == [0, 2, 4]
    assert torch.equal(y, x + 1)
    x[0, 0] = 99  # the windows are copies, not views into the stream
    assert stream[0] == 0


def test_lm_windows_exactly_one_window():
    x, y = lm_windows([1, 2, 3, 4, 5], block_size=4)
    assert x.tolist() == [[1, 2, 3, 4]] and y.tolist() == [[2, 3, 4, 5]]


def test_lm_windows_errors():
    with pytest.raises(ValueError, match=r"ids has 4 tokens; a window of block_size=4 needs at least 5"):
        lm_windows([1, 2, 3, 4], block_size=4)
    with pytest.raises(ValueError, match="block_size must be an integer >= 1, got 0"):
        lm_windows([1, 2, 3], block_size=0)
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        lm_windows([1, 2, 3], block_size=1, stride=0)
    with pytest.raises(TypeError, match="join the documents"):
        lm_windows([[1, 2], [3, 4]], block_size=1)
    with pytest.raises(ValueError, match=r"1-D token stream, got shape \(2, 2\)"):
        lm_windows(torch.zeros(2, 2, dtype=torch.long), block_size=1)


def test_tokenize_dataset_and_pad_collate():
    datasets = pytest.importorskip("datasets")
    tok = WordTokenizer().train(SENTENCES)
    ds = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": SENTENCES, "label": [0, 1, 0]}),
        "test": datasets.Dataset.from_dict({"text": SENTENCES[:1], "label": [1]}),
    })
    out = tokenize_dataset(ds, tok, add_special_tokens=True)
    assert out["train"]["input_ids"][1] == tok.encode(SENTENCES[1], add_special_tokens=True)
    assert out["test"].column_names == ["text", "label", "input_ids"]
    only_ids = tokenize_dataset(ds["train"], tok, remove_columns=True)
    assert only_ids.column_names == ["input_ids"]

    loader = make_loader(out["train"], batch_size=3, shuffle=False, collate=pad_collate(tok.pad_id))
    batch = next(iter(loader))
    lengths = [len(tok.encode(t)) + 2 for t in SENTENCES]
    assert batch["input_ids"].shape == (3, max(lengths))
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    assert batch["label"].tolist() == [0, 1, 0]
    assert batch["text"] == SENTENCES

    with pytest.raises(ValueError, match=r"column must be one of the dataset's columns \['text', 'label'\], got 'words'"):
        tokenize_dataset(ds["train"], tok, column="words")


def _batches(loader, n):
    return [b for b in itertools.islice(infinite(loader), n)]


def test_make_loader_is_reproducible_with_the_same_seed():
    x, y = lm_windows(list(range(200)), block_size=4)  # 49 windows
    first = _batches(make_loader((x, y), batch_size=8, seed=3), 20)  # more than one epoch
    again = _batches(make_loader((x, y), batch_size=8, seed=3), 20)
    other = _batches(make_loader((x, y), batch_size=8, seed=4), 20)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other))
    assert first[0][0].shape == (8, 4)
    # a shuffled epoch is a permutation of the data
    epoch = torch.cat([b[0] for b in make_loader((x, y), batch_size=8, seed=3)])
    assert sorted(epoch[:, 0].tolist()) == x[:, 0].tolist()
    assert epoch[:, 0].tolist() != x[:, 0].tolist()


def test_make_loader_dict_and_single_tensor():
    data = {"input_ids": torch.arange(20).view(10, 2), "labels": torch.arange(10)}
    batch = next(iter(make_loader(data, batch_size=4, shuffle=False)))
    assert batch["input_ids"].shape == (4, 2) and batch["labels"].tolist() == [0, 1, 2, 3]
    (only,) = next(iter(make_loader(torch.arange(10), batch_size=5, shuffle=False)))
    assert only.tolist() == [0, 1, 2, 3, 4]


def test_make_loader_errors():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        make_loader(torch.arange(4), batch_size=0)
    with pytest.raises(ValueError, match=r"share their first dimension, got sizes \[3, 4\]"):
        make_loader((torch.zeros(3), torch.zeros(4)), batch_size=2)
    with pytest.raises(TypeError, match="data must be a Dataset"):
        make_loader(42, batch_size=2)


def test_infinite_cycles_and_refuses_an_empty_loader():
    loader = make_loader(torch.arange(5), batch_size=2, shuffle=False)
    firsts = [b[0][0].item() for b in itertools.islice(infinite(loader), 7)]
    assert firsts == [0, 2, 4, 0, 2, 4, 0]
    empty = make_loader(torch.arange(3), batch_size=4, shuffle=False, drop_last=True)
    with pytest.raises(ValueError, match="loader yielded no batch"):
        next(infinite(empty))
