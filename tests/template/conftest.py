"""pytest fixtures for the wiring tests of template.yaml; the rendering is in render.py."""

from __future__ import annotations

import pytest

from render import SCENARIOS, Rendered, render


@pytest.fixture(params=sorted(SCENARIOS), ids=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Rendered:
    """The template rendered under each named scenario."""
    return render(SCENARIOS[request.param])
