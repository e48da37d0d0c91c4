"""The repository's address is written by hand in one place, _config.yml's `repository.url`.

The setup cell of every notebook, the README's Colab link and clone command, and the package's
homepage follow it (`make repo-url` writes them after a change); the launch buttons are built
from it (tests/test_browser.py checks them on the built pages). Here: they all agree.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import ROOT, lmnotes_book

REPO, BRANCH = lmnotes_book.configured_repo()


def test_every_mention_of_the_repository_agrees_with_the_config():
    wrong = [
        (f.relative_to(ROOT).as_posix(), text)
        for f, repo, text in lmnotes_book.repo_mentions()
        if repo != REPO
    ]
    assert not wrong, (
        f"_config.yml names the repository {REPO}, these name another; "
        f"run `make repo-url` to write {REPO} everywhere:\n" + "\n".join(map(str, wrong))
    )


def test_every_notebook_setup_cell_installs_from_the_config_repository():
    mentions = {}
    for f, repo, text in lmnotes_book.repo_mentions():
        if f.suffix == ".ipynb" and text.startswith("git+"):
            mentions.setdefault(f, []).append(repo)
    for nb in lmnotes_book.toc_notebooks():
        assert mentions.get(nb) == [REPO], (
            f"{nb.relative_to(ROOT)}: setup cell installs from {mentions.get(nb)}"
        )


def test_readme_and_package_point_at_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/book/" in readme
    assert f"git clone https://github.com/{REPO}" in readme
    branches = set(re.findall(r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/([\w.-]+)/", readme))
    assert branches == {BRANCH}, (
        f"the README's Colab links name branches {branches}; _config.yml says {BRANCH}"
    )
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Homepage = "https://github.com/{REPO}"' in pyproject


def test_make_repo_url_rewrites_every_mention(tmp_path):
    """What a fork does: change _config.yml, run `make repo-url`, and every mention follows."""
    for name in ("_config.yml", "_toc.yml", "README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    nb = lmnotes_book.toc_notebooks()[0]
    (tmp_path / nb.relative_to(ROOT)).parent.mkdir(parents=True)
    shutil.copy(nb, tmp_path / nb.relative_to(ROOT))
    config = tmp_path / "_config.yml"
    config.write_text(
        config.read_text().replace(f"https://github.com/{REPO}", "https://github.com/a-teacher/lm-notes-fork")
    )
    assert lmnotes_book.configured_repo(tmp_path)[0] == "a-teacher/lm-notes-fork"
    changed = lmnotes_book.sync_repo_url(tmp_path)
    assert {p.name for p in changed} == {"README.md", "pyproject.toml", nb.name}
    assert {repo for _, repo, _ in lmnotes_book.repo_mentions(tmp_path)} == {"a-teacher/lm-notes-fork"}
    cell = "".join(json.loads((tmp_path / nb.relative_to(ROOT)).read_text())["cells"][0]["source"])
    assert "git+https://github.com/a-teacher/lm-notes-fork" in cell
    assert lmnotes_book.sync_repo_url(tmp_path) == []  # a second run changes nothing


def test_config_url_must_be_a_github_repository(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/book\n")
    with pytest.raises(ValueError, match="OWNER/NAME"):
        lmnotes_book.configured_repo(tmp_path)
