"""`pip install .` (not only an editable install) must give a working `digest`: the wheel carries
the templates, the rules and the migrations, and the installed package renders a digest."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


SKIP = {".git", ".venv", "build", "var", "out", "__pycache__", ".pytest_cache"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout without build/: setuptools reuses build/lib, so a
    module moved or deleted in the tree would otherwise still ship from a stale copy."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "digest"
    shutil.copytree(ROOT, source, ignore=lambda _, names: [
        n for n in names if n in SKIP or n.endswith((".egg-info", ".sqlite3"))])
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(out), str(source)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"pip wheel failed: {build.stderr[-2000:]}")
    (path,) = out.glob("digest-*.whl")
    return path


def test_the_wheel_carries_every_template_rule_file_and_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"digest/templates/{p.relative_to(ROOT / 'templates')}"
                for p in (ROOT / "templates").rglob("*.j2")}
    expected |= {f"digest/store/{p.relative_to(ROOT / 'digest/store')}"
                 for p in (ROOT / "digest/store/migrations").rglob("*.sql")}
    expected.add("digest/rules.toml")
    assert expected and expected <= names, sorted(expected - names)


def test_the_wheel_carries_every_module_of_the_package(wheel):
    """pyproject.toml lists the packages by name (templates/ ships as digest.templates): a new
    subpackage left off that list would be missing from every install but an editable one."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "digest").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)


def test_the_installed_package_ingests_and_builds_a_digest(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    store = tmp_path / "store.sqlite3"
    # -S: no site processing, so the checkout's editable install (a .pth hook) cannot supply a
    # module the wheel lacks; the dependencies come from site-packages on PYTHONPATH.
    deps = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": f"{target}{os.pathsep}{deps}", "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    python = [sys.executable, "-S"]
    run = python + ["-c", "import sys; from digest.cli import main; sys.exit(main())",
                    "--store", str(store)]
    archives = sorted(str(p) for p in (ROOT / "archives").iterdir())
    ingest = subprocess.run(run + ["ingest", *archives], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    built = subprocess.run(run + ["build", "--week", "latest"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "References" in built.stdout and "[1]" in built.stdout
    # the package came from the wheel, not from the checkout
    where = subprocess.run(python + ["-c", "import digest.links; print(digest.links.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(target))
