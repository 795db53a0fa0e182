"""Every command and every option of `digest` is documented in the README (as sqlite-utils does),
and the architecture document names every module of the package."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from digest.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_is_in_the_readme(name):
    assert f"digest {name}" in README


@pytest.mark.parametrize("name, option", sorted(
    (name, opt) for name, sub in subcommands().items() for action in sub._actions
    for opt in action.option_strings if opt.startswith("--") and opt != "--help"))
def test_every_option_is_in_the_readme(name, option):
    assert option in README, f"digest {name} {option} is not documented in README.md"


def layout() -> set[str]:
    """The paths the architecture document's package layout names, read from its indented tree
    (`digest/`, then `  links/`, then `    scan.py` is links/scan.py)."""
    block = ARCHITECTURE.split("## Package layout", 1)[1].split("```")[1]
    paths, parents = set(), []
    for line in block.splitlines():
        name = line.strip().split(" ", 1)[0]
        if not name or not name.endswith((".py", "/")):
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        parents = parents[:depth]
        path = "".join(parents) + name
        paths.add(path)
        if name.endswith("/"):
            parents.append(name)
    return paths


@pytest.mark.parametrize("module", sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "digest").rglob("*.py")
    if p.name != "__init__.py"))
def test_every_module_is_in_the_architecture_document(module):
    assert module in layout(), f"{module} is not in docs/architecture.md's package layout"
