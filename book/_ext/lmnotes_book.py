"""The book's own Sphinx extension, and the helpers the Makefile and the tests share.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. It

- executes the notebooks into the jupyter-cache before Sphinx reads them (``execute_notebooks``),
  so that ``make book`` and the tests run every notebook once, in one way, and a cached run made
  with another version of the ``lmnotes`` source is never shown;
- adds the directive ``{exercise-index}``: a table of the exercises of the registry in
  ``lmnotes.exercises``, for the whole book or for one chapter (``:chapter: elmo``);
- adds the directives ``{notebook-times}`` (the measured time of each notebook of a chapter) and
  ``{model-times}`` (of training each model of the zoo), read from ``book/_data/notebook-times.json``
  (written by ``book/_ext/notebook_times.py``, ``make times``);
- keeps a script that two extensions add from appearing twice on a page, and gives the widget
  renderer the MathJax 2 call it makes (``book/_static/site/mathjax2-shim.js``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
TIMES = BOOK / "_data" / "notebook-times.json"
DEFAULT_CACHE = ROOT / "_build" / ".jupyter_cache"


# --------------------------------------------------------------------------------------------
# The table of contents


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page of _toc.yml (the root first), as written there: paths without an extension."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key, value in node.items():
                if key != "file":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks the book shows, in the order of the table of contents."""
    return [root / f"{entry}.ipynb" for entry in toc_files(root) if (root / f"{entry}.ipynb").is_file()]


# --------------------------------------------------------------------------------------------
# Executing the notebooks once, into the jupyter-cache


FINGERPRINT_ENV = "LMNOTES_SOURCE_FINGERPRINT"


def source_fingerprint(root: Path = ROOT) -> str:
    """A hash of the ``lmnotes`` source and the package metadata.

    jupyter-cache matches a notebook by its code cells only; an executed notebook is only as
    current as the package it imported, so each cached run carries this fingerprint and a run
    made with other source is executed again. A caller that has just executed the notebooks
    (the tests) passes its fingerprint to the book build in ``$LMNOTES_SOURCE_FINGERPRINT``, so
    that an edit made meanwhile does not make the build run them all again.
    """
    if os.environ.get(FINGERPRINT_ENV):
        return os.environ[FINGERPRINT_ENV]
    h = hashlib.sha256()
    files = sorted((root / "lmnotes").rglob("*.py")) + [root / "pyproject.toml"]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass
class Executed:
    """What became of one notebook: its executed copy (or None) and the error that stopped it."""

    path: Path
    notebook: object | None
    seconds: float | None
    error: str | None
    cached: bool  # True when an earlier run was reused


def _cached_record(cache, nb, fingerprint: str):
    try:
        record = cache.match_cache_notebook(nb)
    except KeyError:
        return None
    return record if record.data.get("lmnotes_source") == fingerprint else None


def execute_notebook(path: Path, cache_path: Path = DEFAULT_CACHE, timeout: int = 1200,
                     fingerprint: str | None = None, log=print) -> Executed:
    """Run one notebook top to bottom into the jupyter-cache at ``cache_path``, unless a run of
    the same code with the same ``lmnotes`` source is there already.

    The run is the one myst-nb makes in ``execute_notebooks: cache`` mode (same function, the
    notebook's folder as the working directory, no error allowed), so the book build finds it.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    fingerprint = fingerprint or source_fingerprint()
    cache_path.mkdir(parents=True, exist_ok=True)
    cache = get_cache(str(cache_path))
    nb = nbformat.read(path, as_version=4)
    record = _cached_record(cache, nb, fingerprint)
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    if record is not None:
        return Executed(path, cache.get_cache_bundle(record.pk).nb, record.data.get("execution_seconds"), None, True)
    log(f"executing {rel} ...")
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True)
    if result.err is not None:
        log(f"executing {rel} failed after {result.time:.0f} s: {type(result.err).__name__}")
        return Executed(path, nb, result.time, result.exc_string or repr(result.err), False)
    cache.cache_notebook_bundle(
        CacheBundleIn(nb, str(path), data={"execution_seconds": result.time, "lmnotes_source": fingerprint}),
        check_validity=False, overwrite=True,
    )
    log(f"executed {rel} in {result.time:.0f} s")
    return Executed(path, nb, result.time, None, False)


# --------------------------------------------------------------------------------------------
# The exercises


def exercise_rows(root: Path = ROOT) -> list[dict]:
    """One row per registered exercise: name, chapter, notebook (where ``check`` is called),
    what it practises and its difficulty."""
    sys.path.insert(0, str(root))
    try:
        from lmnotes import exercises
    finally:
        sys.path.pop(0)
    names = exercises.names()
    where: dict[str, list[str]] = {}
    first: dict[str, tuple[int, int]] = {}  # (notebook in the toc, cell): where the exercise is first met
    call = re.compile(r"""exercises\.check\(\s*["']([A-Za-z0-9_]+)["']""")
    for n, path in enumerate(toc_notebooks(root)):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for c, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            src = "".join(cell.get("source", ""))
            for name in call.findall(src):
                where.setdefault(name, [])
                first.setdefault(name, (n, c))
                rel = path.relative_to(root).with_suffix("").as_posix()
                if rel not in where[name]:
                    where[name].append(rel)
    rows = []
    for name in names:
        ex = exercises.EXERCISES[name]
        info = exercises.describe(name) if hasattr(exercises, "describe") else {}
        rows.append({
            "name": name,
            "chapter": ex.chapter,
            "notebooks": where.get(name, []),
            "practises": info.get("practises", ""),
            "difficulty": info.get("difficulty", 0),
            "kind": info.get("kind", "function"),
            "order": first.get(name, (10**6, 0)),
        })
    return rows


# --------------------------------------------------------------------------------------------
# Sphinx


DIFFICULTY = {1: "★ warm-up", 2: "★★ practice", 3: "★★★ challenge"}


def _doc_link(entry: str) -> str:
    return "{doc}" + f"`/{entry}`"


CHAPTER_TITLES = {
    "world": "The world", "representations": "1. Representation learning", "elmo": "2. ELMo", "bert": "3. BERT",
    "gpt": "4. Generative language models", "rlhf": "5. Learning from human feedback", "challenges": "6. Challenges",
}


def exercise_table(chapter: str | None = None) -> str:
    """The exercise index as MyST: one table for ``chapter``, or a titled table per chapter."""
    rows = [r for r in exercise_rows() if chapter is None or r["chapter"] == chapter]
    if not rows:
        return "*This chapter has no exercises yet.*\n"
    order = list(CHAPTER_TITLES)
    rows.sort(key=lambda r: (order.index(r["chapter"]) if r["chapter"] in order else 99, r["order"], r["name"]))
    out = []
    for ch in dict.fromkeys(r["chapter"] for r in rows):
        if chapter is None:
            out.append(f"**{CHAPTER_TITLES.get(ch, ch)}**\n")
        out.append("| exercise | notebook | what it practises | difficulty |\n| --- | --- | --- | --- |")
        for r in (r for r in rows if r["chapter"] == ch):
            where = ", ".join(_doc_link(nb) for nb in r["notebooks"]) or "(not in a notebook yet)"
            practises = r["practises"].removesuffix(" (question)").replace("|", "\\|").replace("\n", " ")
            level = DIFFICULTY.get(r["difficulty"], "")
            name = f"`{r['name']}`" + (" (question)" if r["kind"] == "question" else "")
            out.append("| " + " | ".join([name, where, practises, level]) + " |")
        out.append("")
    return "\n".join(out)


def _fmt_seconds(s) -> str:
    if s is None:
        return "not measured"
    s = float(s)
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def times_table(folder: str) -> str:
    """The measured times of the notebooks under ``book/<folder>`` as a MyST table."""
    data = json.loads(TIMES.read_text()) if TIMES.is_file() else {"notebooks": {}, "machines": {}}
    notebooks = [p for p in toc_notebooks() if p.parent.name == folder]
    if not notebooks:
        return "*This chapter has no notebooks yet.*\n"
    labels = [label for label in ("cpu", "gpu") if label in data.get("machines", {})] or ["cpu"]
    head = "| notebook | " + " | ".join(f"{lab.upper()}, model cache cold | {lab.upper()}, warm" for lab in labels)
    head += " |\n| --- |" + " --- | --- |" * len(labels) + "\n"
    lines = []
    for p in notebooks:
        rel = p.relative_to(ROOT).as_posix()
        entry = data.get("notebooks", {}).get(rel, {})
        cells = [_doc_link(p.relative_to(ROOT).with_suffix("").as_posix())]
        for lab in labels:
            cells += [_fmt_seconds(entry.get(f"{lab}_cold_s")), _fmt_seconds(entry.get(f"{lab}_warm_s"))]
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for lab in labels:
        m = data.get("machines", {}).get(lab)
        if m:
            notes.append(f"{lab.upper()}: {m['machine']}, {m['date']}")
    foot = ("\n*Measured on " + "; ".join(notes) + " (`make times`). \"Warm\" is a run with the models the "
            "notebook loads already in the model cache (after `make warm`); \"cold\" a first run with an empty "
            "cache, which trains them first: the warm time plus their measured training time. A CPU time is "
            "processor time, which other jobs on the machine do not inflate; on an idle two-core machine a run "
            "takes about that long or less.*\n") if notes else ""
    return head + "\n".join(lines) + "\n" + foot


def model_times_table() -> str:
    """The measured training time of each model of the zoo, as a MyST table."""
    data = json.loads(TIMES.read_text()) if TIMES.is_file() else {}
    sys.path.insert(0, str(ROOT))
    try:
        from lmnotes import zoo
    finally:
        sys.path.pop(0)
    labels = [lab for lab in ("cpu", "gpu") if lab in data.get("machines", {})] or ["cpu"]
    lines = ["| model | " + " | ".join(f"training, {lab.upper()}" for lab in labels) + " |",
             "| --- |" + " --- |" * len(labels)]
    for name in zoo.available():
        entry = data.get("models", {}).get(name, {})
        lines.append(f"| `{name}` | " + " | ".join(_fmt_seconds(entry.get(f"{lab}_s")) for lab in labels) + " |")
    notes = [f"{lab.upper()}: {m['machine']}, {m['date']}" for lab, m in data.get("machines", {}).items()]
    foot = ("\n*Measured on " + "; ".join(notes) + " (`make times`), each model in a fresh process with an empty "
            "cache; loading a cached model takes a second or two.*\n") if notes else ""
    return "\n".join(lines) + "\n" + foot


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import directives
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class _Generated(SphinxDirective):
        has_content = False

        def markdown(self) -> str:  # pragma: no cover - overridden
            raise NotImplementedError

        def run(self):
            for dep in sorted((ROOT / "lmnotes" / "exercises").glob("*.py")) + [TIMES]:
                self.env.note_dependency(str(dep))
            container = nodes.container(classes=[f"lmnotes-{self.name}"])
            text = self.markdown()
            self.state.nested_parse(StringList(text.splitlines(), source=f"<{self.name}>"),
                                    self.content_offset, container)
            return [container]

    class ExerciseIndex(_Generated):
        option_spec = {"chapter": directives.unchanged}

        def markdown(self):
            return exercise_table(self.options.get("chapter"))

    class NotebookTimes(_Generated):
        required_arguments = 1  # the chapter's folder under book/, e.g. 02-elmo

        def markdown(self):
            return times_table(self.arguments[0])

    # before MathJax's own configuration: widgets call MathJax 2's API (see the file)
    app.add_js_file("site/mathjax2-shim.js", priority=100)
    class ModelTimes(_Generated):
        def markdown(self):
            return model_times_table()

    app.add_directive("model-times", ModelTimes)
    app.add_directive("exercise-index", ExerciseIndex)
    app.add_directive("notebook-times", NotebookTimes)
    # after myst-nb's own builder-inited handler, which sets up app.env.mystnb_config
    app.connect("builder-inited", _execute_before_reading, priority=900)
    app.connect("env-get-outdated", _executed_pages_outdated)
    # last, after the handlers that add a page's own scripts
    app.connect("html-page-context", _drop_repeated_scripts, priority=1000)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


def _executed_pages_outdated(app, env, added, changed, removed):
    """Notebooks executed again for new ``lmnotes`` source are read again, though unchanged."""
    return sorted(getattr(app, "_lmnotes_executed", set()) - set(removed))


def _execute_before_reading(app):
    """In ``cache`` mode, run every notebook that has no current run in the cache, so that myst-nb
    finds them all there (and a run made with other ``lmnotes`` source is not shown).

    A notebook that fails stops the build when ``nb_execution_raise_on_error`` is set; otherwise
    its page is built from the notebook as committed (no outputs) and the build warns.
    """
    config = getattr(app.env, "mystnb_config", None)
    app._lmnotes_executed = set()
    if config is None or config.execution_mode != "cache" or app.builder.format != "html":
        return
    from sphinx.errors import ExtensionError
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    cache_path = Path(config.execution_cache_path)
    fingerprint = source_fingerprint()
    excluded = list(config.execution_excludepatterns)
    start = time.perf_counter()
    for path in toc_notebooks(Path(app.srcdir)):
        if any(PurePosixPath(path.as_posix()).match(pattern) for pattern in excluded):
            continue
        done = execute_notebook(path, cache_path, timeout=config.execution_timeout,
                                fingerprint=fingerprint, log=logger.info)
        docname = path.relative_to(app.srcdir).with_suffix("").as_posix()
        if not done.cached:
            app._lmnotes_executed.add(docname)
        if done.error:
            message = f"executing {docname}.ipynb failed:\n{done.error}"
            if config.execution_raise_on_error:
                raise ExtensionError(message)
            logger.warning(message, type="mystnb", subtype="exec")
            excluded.append(path.as_posix())
    app.env.mystnb_config = config.copy(execution_excludepatterns=excluded)
    logger.info(f"notebooks executed or found in the cache in {time.perf_counter() - start:.0f} s")


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe and sphinx-togglebutton add their inline scripts after the builder has started,
    so Sphinx keeps each twice (once from the builder, once from the registry); a repeated
    ``const THEBE_JS_URL`` is a JavaScript error on every page. Keep the first of each."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # an inline script is named None when added to the builder and "" when read back from
        # the registry, so the two copies differ only there
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept  # in place: the list is the builder's own


# --------------------------------------------------------------------------------------------
# The repository's address: written by hand in _config.yml only


# How the book's own repository is named outside _config.yml: the setup cell's pip install,
# Colab and Binder links, and the package's homepage.
_OWN_REPO_PATTERNS = [
    re.compile(r"(?P<prefix>git\+https://github\.com/)(?P<repo>[\w.-]+/[\w.-]+?)(?P<suffix>(\.git)?[\\\"'@])"),
    re.compile(r"(?P<prefix>colab\.research\.google\.com/github/)(?P<repo>[\w.-]+/[\w.-]+)(?P<suffix>/blob/)"),
    re.compile(r"(?P<prefix>mybinder\.org/v2/gh/)(?P<repo>[\w.-]+/[\w.-]+)(?P<suffix>/)"),
    re.compile(r"(?P<prefix>Homepage = \"https://github\.com/)(?P<repo>[\w.-]+/[\w.-]+?)(?P<suffix>\")"),
    re.compile(r"(?P<prefix>git clone https://github\.com/)(?P<repo>[\w.-]+/[\w.-]+?)(?P<suffix>(\.git)?\s)"),
]


def configured_repo(root: Path = ROOT) -> tuple[str, str]:
    """``(owner/name, branch)`` of the repository named in _config.yml."""
    import yaml

    repo = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    url = repo["url"].rstrip("/")
    m = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(\.git)?", url)
    if not m:
        raise ValueError(f"repository.url in _config.yml must be https://github.com/OWNER/NAME, got {url!r}")
    return m.group(1), repo.get("branch", "main")


def repo_url_files(root: Path = ROOT) -> list[Path]:
    """The files that may name the repository: README.md, pyproject.toml, the notebooks (their
    setup cell) and the pages of the book."""
    files = [root / "README.md", root / "pyproject.toml"]
    files += sorted(p for p in (root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    files += sorted((root / "book").rglob("*.md"))
    return [f for f in files if f.is_file()]


def repo_mentions(root: Path = ROOT) -> list[tuple[Path, str, str]]:
    """Every ``(file, owner/name, matched text)`` where a file names the book's repository."""
    found = []
    for f in repo_url_files(root):
        text = f.read_text(encoding="utf-8")
        for pattern in _OWN_REPO_PATTERNS:
            for m in pattern.finditer(text):
                found.append((f, m.group("repo"), m.group(0).strip()))
    return found


def sync_repo_url(root: Path = ROOT) -> list[Path]:
    """Write the repository of _config.yml wherever a file names the book's repository (the
    setup cells, Colab and Binder links, the clone command and the package's homepage)."""
    repo, _ = configured_repo(root)
    changed = []
    for f in repo_url_files(root):
        text = f.read_text(encoding="utf-8")
        new = text
        for pattern in _OWN_REPO_PATTERNS:
            new = pattern.sub(lambda m: m.group("prefix") + repo + m.group("suffix"), new)
        if new != text:
            f.write_text(new, encoding="utf-8")
            changed.append(f)
    return changed


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Helpers of the book's build.")
    ap.add_argument("command", choices=["sync-repo-url", "exercise-index"])
    args = ap.parse_args()
    if args.command == "sync-repo-url":
        repo, branch = configured_repo()
        changed = sync_repo_url()
        print(f"repository {repo} (branch {branch}): updated {len(changed)} files")
        for f in changed:
            print("  ", f.relative_to(ROOT))
    else:
        print(exercise_table())
