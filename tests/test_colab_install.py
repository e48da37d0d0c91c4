"""What Colab does, done here: a fresh Python with torch and Jupyter but no lmnotes, a notebook
opened outside the repository, and its setup cell installing lmnotes (a plain install, not an
editable one) before the notebook runs top to bottom.

The only change to the notebook is where its setup cell installs from: this checkout (the files
git tracks or would track) instead of the repository on GitHub. So a dependency missing from
pyproject.toml, a module or data file left out of the package, or a notebook that reads a file
of the repository fails here, not in a classroom.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import BOOK, ROOT, repo_url

NOTEBOOK = BOOK / "00-the-world" / "the-world.ipynb"
# What the last cell prints: where lmnotes came from, and the files of the installed package.
PROBE = """\
import json, sys, pathlib, lmnotes
pkg = pathlib.Path(lmnotes.__file__).parent
print("LMNOTES-PROBE " + json.dumps({
    "prefix": sys.prefix, "file": lmnotes.__file__,
    "files": sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts)}))
"""


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def _checkout_files() -> list[str]:
    """The files of this checkout as a clone would have them: tracked, or new and not ignored."""
    proc = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    return [f for f in proc.stdout.split("\0") if f and (ROOT / f).is_file()]


@pytest.mark.slow
def test_a_notebook_runs_where_colab_runs_it(tmp_path):
    # the checkout, as a clone of it would be
    src = tmp_path / "lm-notes"
    for rel in _checkout_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)

    # a fresh Python: no system packages, torch and Jupyter preinstalled (as on Colab), no lmnotes
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    import torch

    torch_version = torch.__version__.split("+")[0]
    _run([python, "-m", "pip", "install", "-q", f"torch=={torch_version}", "ipykernel", "nbclient"])
    assert subprocess.run([python, "-c", "import lmnotes"], capture_output=True, cwd=tmp_path).returncode != 0

    # the notebook, outside the repository; its setup cell installs from the checkout
    work = tmp_path / "colab"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    setup = nb.cells[0].source
    assert f"git+{repo_url()}" in setup, "the setup cell does not install from _config.yml's repository"
    nb.cells[0].source = setup.replace(f"git+{repo_url()}", src.as_uri())
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    path = work / NOTEBOOK.name
    nbformat.write(nb, path)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env.update(
        PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        LMNOTES_CACHE=str(tmp_path / "cache"),
        JUPYTER_PATH=str(env_dir / "share" / "jupyter"),
    )
    code = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        f"nb = nbformat.read({str(path)!r}, as_version=4)\n"
        f"NotebookClient(nb, timeout=900, kernel_name='python3', resources={{'metadata': {{'path': {str(work)!r}}}}}).execute()\n"  # noqa: E501
        f"nbformat.write(nb, {str(path)!r})\n"
    )
    _run([python, "-c", code], cwd=work, env=env, timeout=1800)

    ran = nbformat.read(path, as_version=4)
    probe = [
        line
        for o in ran.cells[-1].outputs
        for line in o.get("text", "").splitlines()
        if line.startswith("LMNOTES-PROBE ")
    ]
    assert probe, f"the notebook did not reach its last cell: {ran.cells[-1].outputs}"
    found = json.loads(probe[0][len("LMNOTES-PROBE ") :])
    assert Path(found["prefix"]).resolve() == env_dir.resolve(), (
        f"the kernel ran {found['prefix']}, not the fresh Python"
    )
    assert "site-packages" in found["file"] and str(ROOT) not in found["file"], found["file"]
    # every file of the package made it into the install (modules and data alike)
    package = {
        p.relative_to(ROOT / "lmnotes").as_posix()
        for p in (ROOT / "lmnotes").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.relative_to(ROOT).as_posix() in _checkout_files()
    }
    missing = sorted(package - set(found["files"]))
    assert not missing, (
        f"files of lmnotes/ missing from the installed package (add them as package data): {missing}"
    )
    print(f"ran {NOTEBOOK.name} in a fresh Python ({sys.version.split()[0]}), lmnotes from {found['file']}")


def test_binder_installs_a_cpu_build_of_torch_then_the_package():
    """Binder builds environment.yml without the repository's files, then runs postBuild."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    assert any(req.split(">")[0].split("=")[0].strip() == "torch" for req in pip)
    assert not any(req.lstrip("-e ").startswith(".") for req in pip), (
        "environment.yml cannot install the checkout"
    )
    post = ROOT / "postBuild"
    assert post.is_file() and os.access(post, os.X_OK), "postBuild must exist and be executable"
    assert "pip install" in post.read_text() and " -e ." in post.read_text()
