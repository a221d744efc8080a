"""`pip install ./clients/python` installs the generated client too: its dependencies must be
the generated project's (parley-client/setup.py), which a newer generator may change."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

SDK = Path(__file__).resolve().parents[1]


def generated_install_requires() -> list[str]:
    tree = ast.parse((SDK / "parley-client/setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(requirement) for requirement in value]
    raise AssertionError("parley-client/setup.py has no install_requires")


def test_sdk_requires_what_the_generated_client_requires() -> None:
    project = tomllib.loads((SDK / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    missing = set(generated_install_requires()) - set(project["dependencies"])
    assert not missing, f"add to [project] dependencies in pyproject.toml: {sorted(missing)}"
