"""cfn-lint checks AWS::Route53::HealthCheckSource and private health checks, not just accepts them.

cfn-lint 1.58 does not know the resource type, nor EndpointType and HealthCheckSourceId in a health
check's config; .cfnlintrc.yaml hands it schemas written from the CloudFormation reference
(tests/template/cfn-lint/). These tests run cfn-lint as scripts/check-template and `sam validate
--lint` do (from the repo root, so with .cfnlintrc.yaml): a template that uses the new things
correctly lints clean, and one that breaks each of them gets the error it should.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from render import ROOT

FIXTURES = pathlib.Path(__file__).parent / "cfn-lint" / "fixtures"
# cfn-lint's console script, as scripts/check-template runs it (the package has no __main__).
CFN_LINT = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]


def lint(*args: str, cwd: pathlib.Path = ROOT) -> list[dict[str, Any]]:
    run = subprocess.run(
        [*CFN_LINT, "--format", "json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(cwd)},  # no user-level .cfnlintrc
    )
    assert run.returncode in (0, 2, 4, 6, 8, 10, 12, 14), run.stderr
    return json.loads(run.stdout or "[]")


@pytest.fixture(scope="module")
def matches() -> dict[str, list[tuple[str, str, str]]]:
    """(rule, resource or output, message) per fixture, linted with the repo's configuration."""
    found: dict[str, list[tuple[str, str, str]]] = {"good.yaml": [], "bad.yaml": []}
    for m in lint(str(FIXTURES / "good.yaml"), str(FIXTURES / "bad.yaml")):
        path = m["Location"]["Path"] or ["", ""]
        found[pathlib.Path(m["Filename"]).name].append((m["Rule"]["Id"], str(path[1]), m["Message"]))
    return found


def test_correct_use_lints_clean(matches: dict[str, list[tuple[str, str, str]]]) -> None:
    assert matches["good.yaml"] == []


@pytest.mark.parametrize(
    "where,rule,words",
    [
        ("OneSubnet", "E3032", "minimum item count: 2"),
        ("NoZoneId", "E3003", "'AvailabilityZoneId' is a required property"),
        ("GroupNotAList", "E3012", "is not of type 'array'"),
        ("NoConfig", "E3003", "'HealthCheckSourceConfig' is a required property"),
        ("NoConfig", "E3002", "'Subnets' was unexpected"),
        ("WrongEndpointType", "E3030", "'INTERNAL' is not one of ['PUBLIC', 'PRIVATE']"),
        ("PrivateWithoutSource", "E3003", "'HealthCheckSourceId' is a required property"),
        ("SourceIdNotAString", "E3012", "is not of type 'string'"),
        ("PrivateCalculated", "E3030", "'CALCULATED' is not one of"),
        ("NoSuchAttribute", "E6101", "'SourceId' is not one of ['HealthCheckSourceId', 'HealthCheckSourceArn']"),
    ],
)
def test_each_misuse_is_an_error(
    matches: dict[str, list[tuple[str, str, str]]], where: str, rule: str, words: str
) -> None:
    assert any(r == rule and w == where and words in msg for r, w, msg in matches["bad.yaml"]), matches["bad.yaml"]


def test_nothing_in_the_bad_fixture_goes_unreported(matches: dict[str, list[tuple[str, str, str]]]) -> None:
    reported = {where for _, where, _ in matches["bad.yaml"]}
    assert reported == {
        "OneSubnet",
        "NoZoneId",
        "GroupNotAList",
        "NoConfig",
        "WrongEndpointType",
        "PrivateWithoutSource",
        "SourceIdNotAString",
        "PrivateCalculated",
        "NoSuchAttribute",
    }


def test_without_the_schemas_cfn_lint_does_not_know_the_new_things(tmp_path: pathlib.Path) -> None:
    """What the configuration is for: cfn-lint 1.58 alone refuses the good template."""
    rules = {m["Rule"]["Id"] for m in lint(str(FIXTURES / "good.yaml"), cwd=tmp_path)}
    assert {"E3006", "E3002"} <= rules


def test_the_configuration_names_the_schemas_and_the_rule() -> None:
    from cfnlint.decode import decode

    config, problems = decode(str(ROOT / ".cfnlintrc.yaml"))
    assert not problems
    assert config["registry_schemas"] == ["tests/template/cfn-lint/registry"]
    assert config["override_spec"] == "tests/template/cfn-lint/override-spec.json"
    assert config["append_rules"] == ["tests/template/cfn-lint/rules"]
    for key in ("ignore_checks", "ignore_templates"):
        assert key not in config
