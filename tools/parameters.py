"""The parameter reference, generated from template.yaml: `python tools/parameters.py [--write DOC | --check DOC]`.

Prints docs/parameters.md as template.yaml makes it: every parameter in the groups and order of the
template's `AWS::CloudFormation::Interface`, with its type, default, allowed values or pattern
(and ConstraintDescription), and its Description; then what the template's Rules refuse. --write
puts that into DOC (docs/parameters.md), and --check exits non-zero if DOC differs from it. The
template's Descriptions are the one source: change them there, then write the page again. The
template tests run the check (tests/template/test_parameters_doc.py).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
DOC = ROOT / "docs" / "parameters.md"
COMMAND = "python tools/parameters.py --write docs/parameters.md"

HEADER = f"""\
# Parameters

<!-- Generated from template.yaml by `{COMMAND}`; do not edit by hand. -->

Every parameter of `template.yaml`, in the groups and the order of its
`AWS::CloudFormation::Interface` (the order of the CloudFormation console). Each
description is the parameter's `Description` in the template. To change one,
edit the template, then run:

```sh
{COMMAND}
```

The template tests fail until this page matches the template. A parameter
without a default is required.

The [first deploy](../README.md#first-deploy-an-internal-alb-in-front-of-the-sample-api)
needs six of them: `VpcId`, `SubnetIds`, `ClientCidrs`, `DomainName`,
`CertificateArn` and `PrivateHostedZoneId` (`samconfig.toml`'s `[first]`
environment). The template's Rules refuse inconsistent combinations before
anything is created: [the list](#combinations-the-template-refuses).

`ProbeConnectTo` is gone: remove it from saved `samconfig.toml` environments
([why](operations.md#saved-environments-with-probeconnectto)).
"""


def load(path: pathlib.Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data, read with cfn-lint's loader (it knows `!Ref` and the other short forms)."""
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    if matches:
        raise SystemExit(f"{path}: " + "; ".join(str(m) for m in matches))
    return template


def groups(template: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The Interface's groups, in order; every parameter must be in exactly one."""
    interface = template.get("Metadata", {}).get("AWS::CloudFormation::Interface", {})
    ordered = [(g["Label"]["default"], list(g["Parameters"])) for g in interface.get("ParameterGroups", [])]
    grouped = [name for _, names in ordered for name in names]
    parameters = list(template["Parameters"])
    problems = []
    if missing := [p for p in parameters if p not in grouped]:
        problems.append(f"in no ParameterGroup: {', '.join(missing)}")
    if unknown := [p for p in grouped if p not in parameters]:
        problems.append(f"grouped but not a parameter: {', '.join(unknown)}")
    if twice := sorted({p for p in grouped if grouped.count(p) > 1}):
        problems.append(f"in more than one group: {', '.join(twice)}")
    if problems:
        raise ValueError("template.yaml's AWS::CloudFormation::Interface: " + "; ".join(problems))
    return ordered


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose(text: str, names: list[str]) -> str:
    """A Description as Markdown: one paragraph, parameter names as code, docs/ pages as links."""
    text = " ".join(str(text).split())
    if names:
        text = re.sub(r"(?<![\w`/])(" + "|".join(sorted(names, key=len, reverse=True)) + r")(?![\w`])", r"`\1`", text)
    return re.sub(r"\bdocs/([a-z0-9-]+\.md)", r"[docs/\1](\1)", text)


def code(value: Any) -> str:
    text = str(value)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def default(spec: dict[str, Any]) -> str:
    if "Default" not in spec:
        return "none (required)"
    value = spec["Default"]
    return "empty" if str(value) == "" else code(value)


def allowed(spec: dict[str, Any]) -> str | None:
    parts = []
    if "AllowedValues" in spec:
        parts.append(", ".join(code(v) for v in spec["AllowedValues"]))
    if "AllowedPattern" in spec:
        parts.append(f"pattern {code(spec['AllowedPattern'])}")
    if "MinValue" in spec or "MaxValue" in spec:
        parts.append(f"{spec.get('MinValue', 'any')} to {spec.get('MaxValue', 'any')}")
    if "MinLength" in spec or "MaxLength" in spec:
        parts.append(f"{spec.get('MinLength', 0)} to {spec.get('MaxLength', 'any')} characters")
    if not parts:
        return None
    text = "; ".join(parts)
    if "ConstraintDescription" in spec:
        text += f" ({spec['ConstraintDescription']})"
    return text


def rules(template: dict[str, Any], names: list[str]) -> list[str]:
    lines = [
        "## Combinations the template refuses",
        "",
        "The template's `Rules`, checked before anything is created: each line is a Rule",
        "and the messages of its assertions, which CloudFormation shows when one fails.",
        "",
    ]
    for name, rule in template.get("Rules", {}).items():
        messages = " ".join(prose(a["AssertDescription"], names) for a in rule.get("Assertions", []))
        lines.append(f"- `{name}`: {messages}")
    return lines


def page(template: dict[str, Any]) -> str:
    ordered = groups(template)
    parameters = template["Parameters"]
    names = list(parameters)
    lines = [HEADER, "| Group | Parameters |", "| --- | --- |"]
    for label, members in ordered:
        links = ", ".join(f"[`{p}`](#{slug(p)})" for p in members)
        lines.append(f"| [{label}](#{slug(label)}) | {links} |")
    lines.append("")
    for label, members in ordered:
        lines += [f"## {label}", ""]
        for name in members:
            spec = parameters[name]
            lines += [f"### `{name}`", "", prose(spec.get("Description", "(no description)"), names), ""]
            lines.append(f"- Type: {code(spec['Type'])}")
            lines.append(f"- Default: {default(spec)}")
            if constraint := allowed(spec):
                lines.append(f"- Allowed: {constraint}")
            lines.append("")
    lines += rules(template, names)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="DOC", type=pathlib.Path, help="write the page to DOC")
    action.add_argument("--check", metavar="DOC", type=pathlib.Path, help="fail if DOC is not the current page")
    args = parser.parse_args(argv)
    text = page(load())
    if args.write:
        args.write.write_text(text)
    elif args.check:
        if not args.check.exists() or args.check.read_text() != text:
            print(f"{args.check}: not what template.yaml makes; run {COMMAND}")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
