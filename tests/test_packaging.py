"""`pip install .` (not only an editable install) must give a working `digest`: the wheel carries
the templates, the rules and the migrations, and the installed package renders a digest."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(out), str(ROOT)], capture_output=True, text=True)
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


def test_the_installed_package_ingests_and_builds_a_digest(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    store = tmp_path / "store.sqlite3"
    env = {"PYTHONPATH": str(target), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-c", "import sys; from digest.cli import main; sys.exit(main())",
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
    where = subprocess.run([sys.executable, "-c", "import digest; print(digest.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(target))
