"""`python -m lmnotes.bench` runs (tiny sizes) and reports sensible numbers; speed itself is never asserted."""

import math
import subprocess
import sys

import pytest

from lmnotes import bench


@pytest.mark.parametrize("family", bench.FAMILIES)
def test_each_benchmark_runs_quick_and_reports_positive_rates(family):
    results = bench.run([family], quick=True, device="cpu")
    assert results, f"the {family} benchmark reported nothing"
    for r in results:
        assert r.ours > 0 and r.theirs > 0 and math.isfinite(r.ratio), r
        assert r.unit and r.reference


def test_report_lists_every_result():
    rs = [bench.Result("a", 2.0, 1.0, "tok/s", "ref"), bench.Result("b", 1.0, 4.0, "tok/s", "ref")]
    text = bench.report(rs)
    assert "2.00x" in text and "0.25x" in text


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark"):
        bench.run(["nope"], quick=True, device="cpu")


def test_command_line_help():
    out = subprocess.run([sys.executable, "-m", "lmnotes.bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--quick" in out.stdout


def test_gpt_static_cache_decoding_is_an_option():
    from lmnotes.bench import gpt

    results = gpt.run("cpu", quick=True, decode="static")
    names = [r.name for r in results]
    assert (
        "gpt greedy decoding, batch 1, static cache" in names and "gpt greedy decoding, batch 1" not in names
    )
    static = [r for r in results if "static cache" in r.name]
    assert len(static) == 2 and all(
        r.ours > 0 and "tokens equal generate's: True" in r.detail for r in static
    )
    with pytest.raises(ValueError, match="decode must be"):
        gpt.run("cpu", quick=True, decode="fast")
