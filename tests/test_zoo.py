"""The model zoo (lmnotes.zoo) and the book seed: a cache entry is data, never code.

A tiny registered recipe (a word-level bigram model trained for a few steps) stands in for the
book's models, with a temporary $LMNOTES_CACHE, so every test runs in seconds. "A fresh process" is
a real one: the test runs this module's recipe in a subprocess.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import lmnotes
from lmnotes import zoo
from lmnotes.data.tokenizers import BPETokenizer, CharTokenizer, ELMoTokenizer, Tokenizer, WordTokenizer

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["the robin can fly .", "the cat sat on the mat .", "a penguin can swim ."]


@dataclasses.dataclass
class TinyConfig:
    vocab_size: int = 16
    d: int = 8


class TinyLM(nn.Module):
    """A bigram language model: embedding -> linear."""

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.d)
        self.out = nn.Linear(config.d, config.vocab_size)

    def forward(self, ids):
        return self.out(self.embedding(ids))


BUILDS: list[dict] = []  # one dict per training, in this process


def build_tiny(config: dict, device=None):
    BUILDS.append({**config, "device": str(device)})
    torch.manual_seed(config["seed"])
    tok = WordTokenizer().train(TEXTS)
    model = TinyLM(TinyConfig(vocab_size=tok.vocab_size, d=config["d"])).to(device)
    ids = torch.tensor([tok.encode(t) for t in TEXTS[:1]], device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(config["steps"]):
        loss = nn.functional.cross_entropy(model(ids[:, :-1]).flatten(0, 1), ids[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(round(loss.item(), 6))
    model.history = {"loss": losses}
    model.note = "trained by build_tiny"
    return model, tok


TINY = {"d": 8, "steps": 5, "seed": 0, "corpus_seed": 3}
zoo.allow(TinyLM, TinyConfig)
zoo.register("test-tiny", config=TINY)(build_tiny)


def outputs(model) -> list:
    with torch.no_grad():
        return model(torch.arange(6).view(1, 6)).flatten().tolist()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty model cache, an empty memory cache, book seed 0."""
    monkeypatch.setenv("LMNOTES_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LMNOTES_SEED", raising=False)
    monkeypatch.setattr(lmnotes.utils, "_SETUP_SEED", 0)
    zoo._MEMORY.clear()
    BUILDS.clear()
    yield tmp_path / "cache"
    zoo._MEMORY.clear()


def entry_dir(cache: Path) -> Path:
    (entry,) = [p for p in cache.iterdir() if p.name.startswith("test-tiny-")]
    return entry


# A fresh Python process: import this module (it registers the recipe), ask for the model, report.
CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
import test_zoo
model, tok = test_zoo.lmnotes.pretrained("test-tiny")
print("RESULT " + json.dumps({{"builds": len(test_zoo.BUILDS), "out": test_zoo.outputs(model),
       "history": getattr(model, "history", None), "vocab": tok.vocab, "file": test_zoo.lmnotes.__file__}}))
"""


def fresh_process(cache: Path) -> tuple[dict, str]:
    """Run CHILD in a new interpreter (book seed 0); returns (its RESULT, its stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k != "LMNOTES_SEED"}
    full_env["LMNOTES_CACHE"] = str(cache)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(tests=str(Path(__file__).parent))],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :]), proc.stderr


# ----------------------------------------------------------------------------- storing and loading


def test_round_trip_in_a_fresh_process_gives_the_same_model_without_training(cache):
    first, _ = fresh_process(cache)
    assert first["builds"] == 1
    entry = entry_dir(cache)
    assert sorted(p.name for p in entry.iterdir()) == [
        "entry.json",
        "info.json",
        "tokenizer.json",
        "weights.pt",
    ]
    stored = json.loads((entry / "entry.json").read_text())
    assert stored["model"]["class"] == "TinyLM" and stored["config"] == TINY and stored["seed"] == 0
    assert list(cache.glob(".*")) == []  # no temporary folder left behind
    second, _ = fresh_process(cache)
    assert second["builds"] == 0, "a cached model was trained again"
    assert second["out"] == first["out"] and second["vocab"] == first["vocab"]
    assert second["history"] == first["history"] and len(second["history"]["loss"]) == TINY["steps"]


def test_trains_once_per_config_and_hands_out_copies(cache):
    m1, tok = lmnotes.pretrained("test-tiny")
    assert len(BUILDS) == 1 and isinstance(tok, WordTokenizer)
    assert m1.note == "trained by build_tiny" and not m1.training
    zoo._MEMORY.clear()  # as in a new process: read from disk, not trained
    m2, tok2 = lmnotes.pretrained("test-tiny")
    assert len(BUILDS) == 1 and tok2 == tok
    assert outputs(m1) == outputs(m2) and m2.history == m1.history
    m2.out.weight.data.zero_()  # callers get a copy: the cached model stays as it was
    m3, _ = lmnotes.pretrained("test-tiny")
    assert outputs(m3) == outputs(m1)
    m4, _ = lmnotes.pretrained("test-tiny", d=4)
    assert len(BUILDS) == 2 and m4.config.d == 4
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 2
    with pytest.raises(ValueError, match="no config entries"):
        lmnotes.pretrained("test-tiny", depth=2)
    with pytest.raises(KeyError, match="no pretrained model called"):
        lmnotes.pretrained("no-such-model")


def test_trains_on_the_best_device_and_returns_the_model_where_asked(cache):
    model, _ = lmnotes.pretrained("test-tiny")
    assert BUILDS[-1]["device"] == str(lmnotes.pick_device())
    assert next(model.parameters()).device.type == "cpu"  # the default: the CPU, where the cache lives
    model, _ = lmnotes.pretrained("test-tiny", device="cpu")
    assert next(model.parameters()).device.type == "cpu"


class Payload:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.exec, (f"open({self.marker!r}, 'w').close()",)


def test_a_planted_pickle_never_runs(cache, tmp_path):
    lmnotes.pretrained("test-tiny")
    entry = entry_dir(cache)
    marker = tmp_path / "pwned"
    # The planted file is real: an unsafe load would run it (checked here on a copy).
    probe = tmp_path / "probe.pt"
    torch.save({"state_dict": Payload(tmp_path / "probe-ran")}, probe)
    torch.load(probe, weights_only=False)
    assert (tmp_path / "probe-ran").exists()

    torch.save({"state_dict": Payload(marker), "config": None}, entry / "weights.pt")
    (cache / f"{entry.name}.pt").write_bytes(pickle.dumps(Payload(marker)))  # where the old cache kept models
    result, err = fresh_process(cache)
    assert not marker.exists(), "loading the cache ran code from it"
    assert result["builds"] == 1, "the planted file should be reported and the model trained again"
    assert str(entry) in err and "weights" in err.lower()
    # A bare pickle (not a torch zip file) is refused the same way.
    (entry / "weights.pt").write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    result, err = fresh_process(cache)
    assert not marker.exists() and result["builds"] == 1 and str(entry) in err


def test_a_truncated_file_is_reported_and_retrained(cache, capsys):
    m1, _ = lmnotes.pretrained("test-tiny")
    entry = entry_dir(cache)
    weights = entry / "weights.pt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    zoo._MEMORY.clear()
    m2, _ = lmnotes.pretrained("test-tiny")
    err = capsys.readouterr().err
    assert f"cannot use the cached 'test-tiny' in {entry}" in err and "again in its place" in err
    assert len(BUILDS) == 2 and outputs(m2) == outputs(m1)  # same recipe, same seed: the same model
    zoo._MEMORY.clear()
    lmnotes.pretrained("test-tiny")  # the retrained entry replaced the broken one
    assert len(BUILDS) == 2 and capsys.readouterr().err == ""
    (entry / "entry.json").write_text('{"format": "lmnotes-zoo", "name": "test-')
    zoo._MEMORY.clear()
    lmnotes.pretrained("test-tiny")
    assert len(BUILDS) == 3 and "JSONDecodeError" in capsys.readouterr().err


def test_a_stored_config_that_differs_is_detected(cache, capsys):
    lmnotes.pretrained("test-tiny")
    entry = entry_dir(cache)
    stored = json.loads((entry / "entry.json").read_text())
    stored["config"]["steps"] = 50  # a model trained longer, filed under this key
    (entry / "entry.json").write_text(json.dumps(stored))
    zoo._MEMORY.clear()
    lmnotes.pretrained("test-tiny")
    err = capsys.readouterr().err
    assert "made for another config" in err and "steps: stored 50, asked for 5" in err
    assert len(BUILDS) == 2
    # The weights' own config is checked against the model the entry describes.
    stored = json.loads((entry / "entry.json").read_text())
    stored["model"]["config"]["d"] = 4
    (entry / "entry.json").write_text(json.dumps(stored))
    zoo._MEMORY.clear()
    lmnotes.pretrained("test-tiny")
    assert "d=8" in capsys.readouterr().err and len(BUILDS) == 3


def test_an_entry_can_name_only_allowed_classes(cache, capsys):
    lmnotes.pretrained("test-tiny")
    entry = entry_dir(cache)
    for kind in ("os.system", "builtins.eval", "Linear"):
        stored = json.loads((entry / "entry.json").read_text())
        stored["model"]["class"] = kind
        (entry / "entry.json").write_text(json.dumps(stored))
        zoo._MEMORY.clear()
        lmnotes.pretrained("test-tiny")
        assert f"the model class {kind!r} is not one the zoo rebuilds" in capsys.readouterr().err
    stored = json.loads((entry / "entry.json").read_text())
    stored["tokenizer"] = "Payload"
    (entry / "entry.json").write_text(json.dumps(stored))
    zoo._MEMORY.clear()
    lmnotes.pretrained("test-tiny")
    assert "unknown tokenizer class 'Payload'" in capsys.readouterr().err


def test_a_build_returning_a_model_the_zoo_cannot_rebuild_says_what_to_do(cache):
    zoo.register("test-linear", config={"seed": 0})(lambda config: (nn.Linear(2, 1), None))
    with pytest.raises(ValueError, match=r"lmnotes.zoo.allow\(Linear"):
        lmnotes.pretrained("test-linear")

    def leaves_a_tensor(config):
        model, tok = build_tiny({**TINY, **config})
        model.scores = torch.ones(2)
        return model, tok

    zoo.register("test-tensor-attr", config={"seed": 0})(leaves_a_tensor)
    with pytest.raises(ValueError, match="plain JSON data"):
        lmnotes.pretrained("test-tensor-attr")


# ----------------------------------------------------------------------------- the key


def test_the_key_depends_on_name_config_version_and_seed_only():
    k = zoo.key("gpt-world", {"steps": 600, "seed": 0}, 1, 0)
    assert k == zoo.key("gpt-world", {"seed": 0, "steps": 600}, 1, 0)  # order does not matter
    others = {
        zoo.key("bert-world", {"steps": 600, "seed": 0}, 1, 0),
        zoo.key("gpt-world", {"steps": 601, "seed": 0}, 1, 0),
        zoo.key("gpt-world", {"steps": 600, "seed": 0}, 2, 0),
        zoo.key("gpt-world", {"steps": 600, "seed": 0}, 1, 1),
    }
    assert k not in others and len(others) == 4


def test_editing_a_docstring_does_not_change_the_key(tmp_path):
    """The key of every book model is the same from a copy of the package whose docstrings were edited."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "lmnotes", copy / "lmnotes", ignore=shutil.ignore_patterns("__pycache__"))
    edited = 0
    for f in (copy / "lmnotes").rglob("*.py"):
        text = f.read_text()
        if text.startswith('"""'):
            f.write_text('"""Edited. ' + text[3:])
            edited += 1
    assert edited > 10
    script = (
        "import json, lmnotes\nfrom lmnotes import zoo\n"
        "print(json.dumps([lmnotes.__file__] + [zoo.key(n, zoo.recipe_config(n), zoo._recipe(n).version, 0) "
        "for n in zoo.available()]))"
    )

    def keys(path):
        env = {k: v for k, v in os.environ.items() if k != "LMNOTES_SEED"}
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=300,
            env={**env, "PYTHONPATH": str(path)},
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out[0].startswith(str(path)), f"imported {out[0]}, not the copy in {path}"
        return out[1:]

    original, after_edit = keys(ROOT), keys(copy)
    assert len(original) >= 4 and original == after_edit


# ----------------------------------------------------------------------------- one seed for the book


def test_the_book_seed_shifts_setup_draws_and_the_zoo(cache, monkeypatch, capsys):
    lmnotes.setup(seed=0, verbose=False)
    assert lmnotes.seed() == 0 and lmnotes.seed(3) == 3
    assert zoo.recipe_config("test-tiny") == TINY
    monkeypatch.setenv("LMNOTES_SEED", "2")
    lmnotes.setup(seed=0)
    assert "seed: 2 (0 + LMNOTES_SEED=2)" in capsys.readouterr().out
    a = torch.rand(1)
    assert lmnotes.seed(3) == 5
    monkeypatch.delenv("LMNOTES_SEED")
    lmnotes.setup(seed=2, verbose=False)
    assert torch.equal(torch.rand(1), a)  # setup(seed=0) under LMNOTES_SEED=2 is setup(seed=2)
    assert lmnotes.seed(3) == 5  # setup's seed counts the same
    assert zoo.recipe_config("test-tiny") == {**TINY, "seed": 2, "corpus_seed": 5}
    lmnotes.setup(seed=0, verbose=False)
    m0, _ = lmnotes.pretrained("test-tiny")
    monkeypatch.setenv("LMNOTES_SEED", "1")
    m1, _ = lmnotes.pretrained("test-tiny")
    assert [b["seed"] for b in BUILDS] == [0, 1]  # never the model of another seed
    assert outputs(m0) != outputs(m1)
    assert sorted(p.name.split("-")[2] for p in cache.iterdir()) == ["s0", "s1"]


@pytest.mark.parametrize("value", ["-1", "x", "1.5"])
def test_a_bad_lmnotes_seed_says_what_to_do(monkeypatch, value):
    monkeypatch.setenv("LMNOTES_SEED", value)
    with pytest.raises(ValueError, match="LMNOTES_SEED must be a non-negative integer"):
        lmnotes.seed(0)


# ----------------------------------------------------------------------------- tokenizers as JSON


@pytest.mark.parametrize("kind", [CharTokenizer, WordTokenizer, BPETokenizer])
def test_tokenizers_round_trip_through_json(kind):
    tok = kind().train(TEXTS * 3, **({"vocab_size": 40} if kind is BPETokenizer else {}))
    text = tok.to_json()
    json.loads(text)  # plain JSON
    back = Tokenizer.from_json(text)
    assert type(back) is kind and back == tok
    assert back.encode("the cat can fly .") == tok.encode("the cat can fly .")
    with pytest.raises(ValueError, match="not a tokenizer saved by lmnotes"):
        Tokenizer.from_json('{"format": "something else"}')
    with pytest.raises(ValueError, match="not JSON"):
        Tokenizer.from_json(text[:-5])
    with pytest.raises(ValueError, match="trained"):
        kind().to_json()


def test_elmo_tokenizer_round_trips_through_json(tmp_path):
    tok = ELMoTokenizer(max_word_len=10).train(TEXTS)
    back = ELMoTokenizer.from_json(tok.to_json())
    assert back == tok and back.max_word_len == 10
    batch, batch_back = tok.batch(["the robin sat ."]), back.batch(["the robin sat ."])
    assert all(torch.equal(batch[k], batch_back[k]) for k in batch)
    tok.save(tmp_path / "t.json")
    assert ELMoTokenizer.load(tmp_path / "t.json") == tok
    with pytest.raises(ValueError, match="not an ELMoTokenizer"):
        ELMoTokenizer.from_json(CharTokenizer().train(TEXTS).to_json())
