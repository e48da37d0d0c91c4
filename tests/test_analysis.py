import pytest
import torch

from lmnotes.analysis import control_labels, layer_probe, probe_accuracy


def _separable(n=200, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def test_probe_reads_linear_property():
    X, y = _separable(400)
    acc = probe_accuracy(X[:300], y[:300], X[300:], y[300:], epochs=200)
    assert acc > 0.9


def test_probe_on_noise_is_near_chance():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(400, 8, generator=g)
    y = torch.randint(0, 2, (400,), generator=g)
    acc = probe_accuracy(X[:300], y[:300], X[300:], y[300:])
    assert 0.3 < acc < 0.7


def test_layer_probe_ranks_layers():
    X, y = _separable(400)
    noise = torch.randn(400, 8, generator=torch.Generator().manual_seed(3))
    accs = layer_probe({"noise": (noise[:300], noise[300:]), "signal": (X[:300], X[300:])}, y[:300], y[300:])
    assert list(accs) == ["noise", "signal"]
    assert accs["signal"] > accs["noise"] + 0.2


def test_control_labels_one_label_per_word_type():
    words = ["bank", "bat", "bank", "crane", "bat", "bank"]
    labels = [0, 1, 1, 0, 0, 1]
    ctrl = control_labels(words, labels, seed=0)
    assert len(ctrl) == len(words)
    assert ctrl[0] == ctrl[2] == ctrl[5] and ctrl[1] == ctrl[4]
    assert set(ctrl) <= set(labels)
    assert control_labels(words, labels, seed=0) == ctrl


def test_probe_errors_name_the_problem():
    X, y = _separable(10)
    with pytest.raises(ValueError, match="same length"):
        probe_accuracy(X, y[:5], X, y)
    with pytest.raises(ValueError, match="features"):
        probe_accuracy(X, y, X[:, :3], y)
    with pytest.raises(ValueError, match="pair"):
        layer_probe({"a": X}, y, y)
    with pytest.raises(ValueError, match="same length"):
        control_labels(["a"], [0, 1])


def _probing_corpus():
    from datasets import Dataset, DatasetDict

    rows = {
        "train": [
            (["the", "duck", "swam"], 1, "noun"),
            (["they", "duck", "low"], 1, "verb"),
            (["a", "robin", "sang"], 1, "noun"),
            (["they", "swim", "far"], 1, "verb"),
            (["the", "bank", "fell"], 1, "noun"),
        ],
        "test": [(["the", "duck", "ate"], 1, "noun"), (["we", "duck", "now"], 1, "verb")],
    }
    return DatasetDict(
        {
            s: Dataset.from_dict(
                {"words": [r[0] for r in rs], "target_index": [r[1] for r in rs], "label": [r[2] for r in rs]}
            )
            for s, rs in rows.items()
        }
    )


def test_label_ids_number_the_sorted_labels_and_the_control_task_follows_word_types():
    from lmnotes.analysis import balanced, class_names, label_ids

    ds = _probing_corpus()
    assert class_names(ds) == ["noun", "verb"]
    y_train, y_test = label_ids(ds)
    assert y_train.tolist() == [0, 1, 0, 1, 0] and y_test.tolist() == [0, 1]
    assert torch.equal(label_ids(ds, "test"), y_test)
    c_train, c_test = label_ids(ds, control=True, seed=3)
    words = [w[1] for s in ("train", "test") for w in ds[s]["words"]]
    by_word = {}
    for w, y in zip(words, c_train.tolist() + c_test.tolist()):
        assert by_word.setdefault(w, y) == y  # one label per word type, in both splits
    assert c_train.tolist() + c_test.tolist() == control_labels(
        words, y_train.tolist() + y_test.tolist(), seed=3
    )
    even = balanced(ds)
    assert sorted(even["train"]["label"]) == ["noun", "noun", "verb", "verb"] and len(even["test"]) == 2


def test_word_features_reads_a_hugging_face_tokenizer_too():
    transformers = pytest.importorskip("transformers")
    from lmnotes.analysis import word_features
    from lmnotes.models.bert import Bert

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "duck", "swam", "dog", "##s", "ran", "far"]
    hf_tok = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})  # offline: no download
    torch.manual_seed(0)
    hf = transformers.BertModel(
        transformers.BertConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
        )
    ).eval()
    bert = Bert.from_hf(hf)
    sentences, index = [["the", "dogs", "ran"], ["the", "duck", "swam", "far"]], [2, 1]
    feats = word_features(bert, hf_tok, sentences, index)
    assert feats.shape == (3, 2, 16)  # (L, N, C): embeddings + 2 layers
    enc = hf_tok(sentences[0], is_split_into_words=True, return_tensors="pt")
    assert enc.word_ids(0).index(2) == 4  # [CLS] the dog ##s ran: "ran" is the fourth sub-word
    with torch.no_grad():
        ref = hf(**enc, output_hidden_states=True).hidden_states
    assert torch.allclose(feats[:, 0], torch.stack([h[0, 4] for h in ref]), atol=1e-5)
