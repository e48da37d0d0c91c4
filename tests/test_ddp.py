"""`fit` under torchrun: two CPU processes (gloo) train to the same weights as one process on the
same batches, the all-reduce runs once per update whatever `accumulate` is, and only process 0
prints, evaluates and saves. Also: gradient accumulation in one process, and batch splitting."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lmnotes.train import _uses_distributed_sampler, fit, split_batch

STEPS = 3

# The script torchrun runs in each process. It builds the model with a seed that differs per
# process (DDP must copy process 0's weights to the others), counts DDP's gradient all-reduces
# with a communication hook, and records what each process printed, saved and evaluated.
WORKER = textwrap.dedent("""
    import os, sys
    import torch
    import lmnotes.train as train
    from torch.nn.parallel import DistributedDataParallel
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from ddp_problem import batches, model_for_seed, loss_fn

    out, steps, accumulate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rank = int(os.environ["RANK"])
    log = open(os.path.join(out, f"output{rank}.txt"), "w")
    sys.stdout = sys.stderr = log

    allreduces, saves, evals = [], [], []
    init = DistributedDataParallel.__init__

    def counting_init(self, *a, **k):
        init(self, *a, **k)

        def hook(state, bucket):
            allreduces.append(1)
            return default_hooks.allreduce_hook(None, bucket)

        self.register_comm_hook(None, hook)

    DistributedDataParallel.__init__ = counting_init
    save = train.save_checkpoint
    train.save_checkpoint = lambda *a, **k: (saves.append(rank), save(*a, **k))[1]

    model = model_for_seed(rank)  # different weights in each process before fit
    h = train.fit(model, batches(), loss_fn, steps=steps, lr=1e-2, warmup=1, accumulate=accumulate,
                  eval_fn=lambda m: (evals.append(rank), {"x": 1.0})[1], eval_every=1,
                  checkpoint=os.path.join(out, "ckpt.pt"), progress=True, log_every=1)
    log.flush()
    torch.save({"state": model.state_dict(), "loss": h["loss"], "eval": "eval_x" in h,
                "allreduces": len(allreduces), "saves": saves, "evals": evals},
               os.path.join(out, f"result{rank}.pt"))
""")

PROBLEM = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    from torch import nn


    def model_for_seed(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Embedding(12, 16), nn.Flatten(), nn.Linear(16 * 5, 32), nn.GELU(),
                             nn.LayerNorm(32), nn.Linear(32, 3))


    def batches():
        # 7 rows: split unevenly into 2 processes x 2 micro-batches (2, 2 | 2, 1 rows)
        g = torch.Generator().manual_seed(1)
        return [(torch.randint(0, 12, (7, 5), generator=g), torch.randint(0, 3, (7,), generator=g))
                for _ in range(4)]


    def loss_fn(model, batch):
        x, y = batch
        logits = model(x)
        return {"loss": F.cross_entropy(logits, y), "acc": (logits.argmax(-1) == y).float().mean()}
""")


def _problem() -> dict:
    """model_for_seed, batches and loss_fn, as the worker script imports them."""
    namespace = {}
    exec(compile(PROBLEM, "ddp_problem", "exec"), namespace)
    return namespace


@pytest.fixture(autouse=True)
def _one_process(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)


def test_two_processes_match_one_and_only_rank_0_writes(tmp_path):
    accumulate = 2
    prob = _problem()
    (tmp_path / "ddp_problem.py").write_text(PROBLEM)
    (tmp_path / "worker.py").write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(k, None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(tmp_path / "worker.py"),
        str(tmp_path),
        str(STEPS),
        str(accumulate),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    outputs = {
        r: (tmp_path / f"output{r}.txt").read_text() if (tmp_path / f"output{r}.txt").exists() else ""
        for r in (0, 1)
    }
    assert run.returncode == 0, run.stderr[-3000:] + outputs[0][-2000:] + outputs[1][-2000:]
    res = {r: torch.load(tmp_path / f"result{r}.pt", weights_only=True) for r in (0, 1)}

    # One process, the same batches, the whole batch at once.
    model = prob["model_for_seed"](0)
    h = fit(model, prob["batches"](), prob["loss_fn"], steps=STEPS, lr=1e-2, warmup=1, progress=False)
    for name, w in model.state_dict().items():
        for r in (0, 1):
            torch.testing.assert_close(
                res[r]["state"][name], w, atol=1e-5, rtol=1e-4, msg=lambda m: f"process {r}, {name}: {m}"
            )
    assert res[0]["loss"] == pytest.approx(h["loss"], rel=1e-4)  # logged loss: the whole batch's
    assert res[1]["loss"] == pytest.approx(h["loss"], rel=1e-4)

    # Gradients all-reduced once per update (one bucket for this small model), not once per micro-batch.
    assert res[0]["allreduces"] == res[1]["allreduces"] == STEPS

    # Only process 0 shows progress, evaluates and saves.
    assert res[0]["saves"] == [0] and res[1]["saves"] == []
    assert len(res[0]["evals"]) == STEPS and res[1]["evals"] == []
    assert res[0]["eval"] and not res[1]["eval"]
    assert f"{STEPS}/{STEPS}" in outputs[0]
    assert outputs[1] == "", outputs[1]
    assert (tmp_path / "ckpt.pt").exists()


def test_accumulation_in_one_process_matches_the_whole_batch():
    prob = _problem()
    ref = prob["model_for_seed"](0)
    h_ref = fit(ref, prob["batches"](), prob["loss_fn"], steps=STEPS, lr=1e-2, warmup=1, progress=False)
    for accumulate in (3, 7):  # uneven parts (3, 2, 2 rows) and one row at a time
        m = prob["model_for_seed"](0)
        h = fit(
            m,
            prob["batches"](),
            prob["loss_fn"],
            steps=STEPS,
            lr=1e-2,
            warmup=1,
            progress=False,
            accumulate=accumulate,
        )
        for (name, a), b in zip(m.state_dict().items(), ref.state_dict().values()):
            torch.testing.assert_close(
                a, b, atol=1e-5, rtol=1e-4, msg=lambda s: f"accumulate={accumulate}, {name}: {s}"
            )
        assert h["loss"] == pytest.approx(h_ref["loss"], rel=1e-5)
        assert h["acc"] == pytest.approx(h_ref["acc"], rel=1e-5)


def test_accumulation_refuses_batches_too_small_to_split():
    prob = _problem()
    with pytest.raises(ValueError, match="cannot be split into 8 parts"):
        fit(
            prob["model_for_seed"](0),
            prob["batches"](),
            prob["loss_fn"],
            steps=1,
            accumulate=8,
            progress=False,
        )


def test_split_batch_slices_batch_tensors_and_shares_the_rest():
    batch = {"x": torch.arange(10).view(5, 2), "y": torch.arange(5), "mask": torch.ones(3, 3), "n": 4}
    parts = split_batch(batch, 2)
    assert [n for _, n in parts] == [3, 2]
    assert parts[0][0]["x"].tolist() == [[0, 1], [2, 3], [4, 5]] and parts[1][0]["y"].tolist() == [3, 4]
    assert parts[1][0]["mask"].shape == (3, 3) and parts[1][0]["n"] == 4  # not batch-shaped: shared
    a, b = split_batch((torch.zeros(4, 1), torch.ones(4)), 2)
    assert isinstance(a[0], tuple) and a[0][0].shape == (2, 1) and b[1] == 2
    with pytest.raises(ValueError, match="no tensor"):
        split_batch({"text": "a robin"}, 2)


def test_a_distributed_sampler_means_batches_are_already_per_process():
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    ds = TensorDataset(torch.zeros(8, 2))
    assert _uses_distributed_sampler(DataLoader(ds, sampler=DistributedSampler(ds, num_replicas=2, rank=0)))
    assert not _uses_distributed_sampler(DataLoader(ds, batch_size=2, shuffle=True))
    assert not _uses_distributed_sampler([torch.zeros(2)])


def test_torchrun_variables_without_a_rendezvous_are_explained(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    prob = _problem()
    with pytest.raises(ValueError, match="torchrun"):
        fit(prob["model_for_seed"](0), prob["batches"](), prob["loss_fn"], steps=1, progress=False)
