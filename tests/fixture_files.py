"""Fixture files that must exist: a failure in CI when missing, a visible skip elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(path: Path) -> Path:
    if not path.exists():
        if IN_CI:
            pytest.fail(f"fixture missing in CI: {path}")
        pytest.skip(f"fixture missing: {path}")
    return path


def script_module(path: Path, name: str):
    """A script of the project (bench/, scripts/) loaded as a module, e.g. bench/import.py,
    whose name cannot be imported."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, require(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
