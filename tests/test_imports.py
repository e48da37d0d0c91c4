"""The package reads in one direction: data -> models -> recipes / analysis -> zoo -> notebooks.

The imports are read from the source (ast), at module level and inside functions alike, so an import
moved into a function to dodge a cycle still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lmnotes"

# What a model module must never reach, directly or through the modules it imports.
NOT_FOR_MODELS = (
    "lmnotes.recipes",
    "lmnotes.zoo",
    "lmnotes.train",
    "lmnotes.data.world",
    "lmnotes.analysis",
    "lmnotes.rlhf",
    "lmnotes.widgets",
    "lmnotes.viz",
    "lmnotes.exercises",
    "lmnotes.bench",
)
NOT_FOR_DATA = (
    "lmnotes.models",
    "lmnotes.recipes",
    "lmnotes.zoo",
    "lmnotes.train",
    "lmnotes.analysis",
    "lmnotes.rlhf",
)


def _module_name(path: Path) -> str:
    parts = ("lmnotes",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The lmnotes modules that ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `import lmnotes.data.world.x` -> the closest module we have
                t = t.rpartition(".")[0]
            if t.startswith("lmnotes") and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        # A module's own packages are imported before it runs: reaching back to them (``from . import
        # __version__``) is not a dependency that can form a cycle.
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = _imports(name, path, known) - ancestors
    return graph


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module reachable from ``start``, with one import path to it."""
    paths, todo = {start: [start]}, [start]
    while todo:
        m = todo.pop()
        for n in sorted(graph.get(m, ())):
            if n not in paths:
                paths[n] = paths[m] + [n]
                todo.append(n)
    return paths


GRAPH = _graph()


def test_the_graph_sees_the_package():
    assert {"lmnotes.models.gpt", "lmnotes.recipes.gpt", "lmnotes.zoo", "lmnotes.data.world"} <= set(GRAPH)
    assert "lmnotes.models.gpt" in GRAPH["lmnotes.recipes.gpt"]
    assert "lmnotes.models.transformer" in GRAPH["lmnotes.models.gpt"]


def test_no_import_cycle():
    for start in sorted(GRAPH):
        for n, path in _reach(GRAPH, start).items():
            if n != start and start in GRAPH.get(n, ()):
                pytest.fail(f"import cycle: {' -> '.join(path + [start])}")


@pytest.mark.parametrize("model", sorted(m for m in GRAPH if m.startswith("lmnotes.models")))
def test_models_import_no_recipe_zoo_training_or_world(model):
    for n, path in _reach(GRAPH, model).items():
        assert not n.startswith(NOT_FOR_MODELS), f"{model} reaches {n}: {' -> '.join(path)}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("lmnotes.data")))
def test_data_imports_nothing_above_it(module):
    for n, path in _reach(GRAPH, module).items():
        assert not n.startswith(NOT_FOR_DATA), f"{module} reaches {n}: {' -> '.join(path)}"


def test_the_labeller_imports_no_model_code():
    # a preference is a function of text: the labeller needs the world's lexicon, not a model (nor torch)
    for n, path in _reach(GRAPH, "lmnotes.rlhf.labeller").items():
        assert n == "lmnotes.rlhf.labeller" or not n.startswith(("lmnotes.models", "lmnotes.rlhf")), (
            " -> ".join(path)
        )
    tree = ast.parse((ROOT / "rlhf" / "labeller.py").read_text())
    top = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    top |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "torch" not in top
