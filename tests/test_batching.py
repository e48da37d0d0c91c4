"""Tests of lmnotes.data.batching: the one padding helper, pad_batch."""

from __future__ import annotations

import pytest
import torch

from lmnotes.data.batching import pad_batch


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
    with pytest.raises(
        ValueError, match=r"labels 'labels'\[0\] has 1 entries but sequences\[0\] has 2 tokens"
    ):
        pad_batch([[1, 2]], pad_id=0, labels=[[1]])
    with pytest.raises(TypeError, match="sequences must be a list of id lists"):
        pad_batch("the cat", pad_id=0)
