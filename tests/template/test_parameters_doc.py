"""docs/parameters.md is what tools/parameters.py makes of template.yaml (issue 25).

The template's Descriptions, defaults, allowed values and groups are the one source; the page is
generated from them and checked in. The first test fails when they disagree, for instance after a
Description changed without `python tools/parameters.py --write docs/parameters.md`.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest

from render import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import parameters  # noqa: E402  (tools/parameters.py, after tools/ is on the path)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return parameters.load()


def test_the_page_is_what_the_template_makes(template: dict[str, Any]) -> None:
    assert parameters.DOC.read_text() == parameters.page(template), (
        f"docs/parameters.md is not what template.yaml makes; run {parameters.COMMAND}"
    )


def test_a_changed_description_changes_the_page(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    changed["Parameters"]["IpAddressType"]["Description"] += " One more sentence."
    assert parameters.page(changed) != parameters.page(template)
    assert "One more sentence." in parameters.page(changed)


def test_every_parameter_is_on_the_page_once_in_its_group(template: dict[str, Any]) -> None:
    text = parameters.page(template)
    for label, members in parameters.groups(template):
        section = text.split(f"\n## {label}\n", 1)[1].split("\n## ", 1)[0]
        for name in members:
            assert text.count(f"\n### `{name}`\n") == 1, name
            assert f"\n### `{name}`\n" in section, (name, label)
    assert "IpAddressType" in [name for _, members in parameters.groups(template) for name in members]


def test_the_page_shows_type_default_and_constraints(template: dict[str, Any]) -> None:
    text = parameters.page(template)
    entry = text.split("\n### `ClientCidrs`\n", 1)[1].split("\n### ", 1)[0]
    assert "- Type: `CommaDelimitedList`" in entry
    assert "- Default: none (required)" in entry
    assert "(a comma-separated list of IPv4 CIDRs, without spaces)" in entry
    port = text.split("\n### `OnPremisesPort`\n", 1)[1].split("\n### ", 1)[0]
    assert "- Default: `443`" in port and "- Allowed: 1 to 65535" in port
    assert "- Allowed: `ipv4`, `dualstack`" in text.split("\n### `IpAddressType`\n", 1)[1].split("\n### ", 1)[0]


def test_a_parameter_outside_every_group_is_refused(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    changed["Parameters"]["Orphan"] = {"Type": "String", "Description": "in no group"}
    with pytest.raises(ValueError, match="in no ParameterGroup: Orphan"):
        parameters.page(changed)


def test_descriptions_fit_cloudformation(template: dict[str, Any]) -> None:
    for name, spec in template["Parameters"].items():
        assert 0 < len(spec["Description"]) <= 4000, name
