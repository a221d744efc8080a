"""The README's install command and example, as written, in a new virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

from conftest import ParleyServer

SDK = Path(__file__).resolve().parents[1]
# The comment that marks a README code block as a complete program to run.
MARKER = "<!-- readme-test: run -->"
BLOCK = re.compile(re.escape(MARKER) + r"\n```\w*\n(.*?)\n```\n", re.DOTALL)
# What a fresh clone has of clients/python: no virtual environment, no build output.
NOT_IN_A_CLONE = shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__", ".*_cache")


def marked_blocks(markdown: str) -> list[str]:
    return [code + "\n" for code in BLOCK.findall(markdown)]


def test_readme_install_and_example(parley: ParleyServer, tmp_path: Path) -> None:
    blocks = marked_blocks((SDK / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1, "the README marks one example to run"
    shutil.copytree(SDK, tmp_path / "clients/python", ignore=NOT_IN_A_CLONE)
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv/bin/python"
    # The README's install command, from the top of the (copied) checkout.
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "./clients/python"],
        cwd=tmp_path,
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    example = tmp_path / "example.py"
    example.write_text(blocks[0], encoding="utf-8")
    run = subprocess.run(
        [python, example],
        cwd=tmp_path,
        env={**os.environ, "PARLEY_URL": parley.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert run.stdout.splitlines() == ["note.updated 2", "message.created alice oat?"]
