"""pytest fixtures for the wiring tests of template.yaml; the rendering is in render.py."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from render import SCENARIOS, Rendered, render  # noqa: E402


@pytest.fixture(params=sorted(SCENARIOS), ids=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Rendered:
    """The template rendered under each named scenario."""
    return render(SCENARIOS[request.param])
