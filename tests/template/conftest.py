"""pytest fixtures for the wiring tests of template.yaml; the rendering is in render.py."""

from __future__ import annotations

import pytest

import update_paths
from render import SCENARIOS, Rendered, render

UPDATE_PATHS = pytest.StashKey[update_paths.Result]()


@pytest.fixture(params=sorted(SCENARIOS), ids=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Rendered:
    """The template rendered under each named scenario."""
    return render(SCENARIOS[request.param])


@pytest.fixture(scope="session")
def update_check(request: pytest.FixtureRequest) -> update_paths.Result:
    """Every update path (update_paths.py), checked once a session; its count ends the run's summary."""
    result = update_paths.check()
    request.config.stash[UPDATE_PATHS] = result
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if UPDATE_PATHS in config.stash:
        terminalreporter.write_line(config.stash[UPDATE_PATHS].summary())
