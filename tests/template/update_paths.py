"""What each parameter change does to a deployed stack, checked offline from CloudFormation's schemas.

A stack is updated one parameter at a time. For every scenario in render.SCENARIOS and every change
a user can make to it (each other allowed value; for a free parameter, each value that the default
or another scenario gives it, so clearing an option and setting it to a realistic value; for a
parameter that no Condition or Rule reads, one other value), both templates are rendered and
compared resource by resource: created, deleted, updated in place or replaced. A resource is
replaced when one of its create-only properties (the resource provider schemas that cfn-lint
ships, with the repo's additions in tests/template/cfn-lint/) changes value, or refers to a
resource that is itself replaced, or when its type changes.

A change that one of the template's Rules refuses on its own is made together with the parameters
that the failing Rules name, set as in a scenario that has the new value (turning OnPremisesHostname
on sets OnPremisesCidrs too; turning it off clears them); if the Rules still refuse it, it is
counted as refused.

A path fails when CloudFormation would refuse it or leave the stack other than the template says:
a logical ID changes type, a custom-named resource is replaced, a replacement loses state that
nothing restores, a property is left out where CloudFormation does not reset it, or a function is
in a VPC while its role lacks VPC access before or after the update. The tables below give each
rule's source.

tools/update_paths.py writes the per-parameter summary into docs/operations.md and checks it;
tests/template/test_update_paths.py runs the check over every path.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import logging
import pathlib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cfnlint.schema import SchemaPatch
from cfnlint.schema.manager import ProviderSchemaManager

from render import BASE_PARAMS, REGION, ROOT, SCENARIOS, TemplateError, raw_template, render, rule_failures

CFN_LINT_ADDITIONS = ROOT / "tests" / "template" / "cfn-lint"
DOC = ROOT / "docs" / "operations.md"
BEGIN, END = "<!-- update-paths:begin -->", "<!-- update-paths:end -->"
DOC_SECTION = (
    "## What an update replaces\n\n"
    "What changing one parameter of a deployed stack does to its resources, worked\n"
    "out from CloudFormation's resource schemas over every scenario that the\n"
    "template's tests render (`python tools/update_paths.py --write docs/operations.md`\n"
    "writes this table).\n\n"
)

# (resource type, property path) -> why CloudFormation keeps the old setting when the property is
# left out of the new template. "Name[Key]" is a list of Key/Value items: a key that goes is kept.
NOT_RESET_WHEN_REMOVED: dict[tuple[str, str], str] = {
    ("AWS::ElasticLoadBalancingV2::Listener", "MutualAuthentication"): (
        "https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/2497"
    ),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerAttributes[Key]"): (
        "ModifyLoadBalancerAttributes changes only the attributes it is given: "
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyLoadBalancerAttributes.html"
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupAttributes[Key]"): (
        "ModifyTargetGroupAttributes changes only the attributes it is given: "
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyTargetGroupAttributes.html"
    ),
    # VpcConfig itself is not here: when it goes, the handler does detach the function. Removing it
    # failed only on the flag below (issue 2061), and in https://github.com/aws/aws-cdk/issues/12827
    # the detach went through and the function's interfaces outlived it. Both are inference from
    # reports, not the handler's code, which is not public.
    ("AWS::Lambda::Function", "VpcConfig/Ipv6AllowedForDualStack"): (
        "https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/2061"
    ),
    ("AWS::Lambda::Function", "Layers"): (
        "unverified: UpdateFunctionConfiguration keeps the layers when Layers is left out and removes them "
        "only on an empty list (https://github.com/aws-controllers-k8s/community/issues/3014, "
        "https://github.com/adobe/helix-deploy/pull/735); whether CloudFormation's handler sends the empty "
        "list is not documented, and an explicit [] is unambiguous"
    ),
}

# Resource types whose replacement loses something that CloudFormation does not carry over.
STATE_LOST_ON_REPLACEMENT: dict[str, str] = {
    # Up to 5 sources per account, and a source's VPC, subnets and security groups cannot change
    # after creation: the replacement needs a free slot while the old source still exists, and
    # takes minutes to create. https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-check-sources.html
    "AWS::Route53::HealthCheckSource": (
        "a new health check source needs a free one of the 5 an account may have, while the old one "
        "still exists (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-check-sources.html)"
    ),
    # Registrations live in the group (RegisterTargets): a new group starts empty, and its listener
    # forwards to nothing until something registers the targets again (see refilled_by).
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "a new target group starts with no targets, and nothing in the template registers them again"
    ),
}

# Functions that fill the target groups named in their environment on every run: target-sync
# registers each binding's addresses (docs/contracts.md#target-sync), on a schedule of rate(1 minute).
REFILLING_FUNCTIONS = {"TargetSyncFunction"}

# What a replacement means to users, by type, for the table's Interruption column.
CONSEQUENCES: dict[str, str] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "new DNS name (the records follow); open connections drop",
    "AWS::ElasticLoadBalancingV2::Listener": "connections on its port drop while it is re-created",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "a new group, empty until its targets are registered again",
    "AWS::ElasticLoadBalancingV2::TrustStore": "a new trust store; the listeners move to it",
    "AWS::Route53::HealthCheckSource": "a new source (minutes to create; 5 per account); the check moves to it",
    "AWS::Route53::HealthCheck": "a new health check; its status starts over and the records move to it",
    "AWS::EC2::SecurityGroup": "a new group; the rules that name it are re-created",
    "AWS::EC2::VPCEndpoint": "a new endpoint: new ID, addresses and DNS names",
    "AWS::ApiGateway::DomainName": "the custom domain is re-created",
    "AWS::ApiGateway::VpcLink": "a new VPC link (minutes to create); the integrations move to it",
    "AWS::CloudFront::VpcOrigin": "a new VPC origin (minutes to create); the distribution moves to it",
}

# A custom name blocks replacement: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
# ("You can't perform an update that causes a custom-named resource to be replaced"), unless the
# name changes too: https://repost.aws/knowledge-center/cloudformation-custom-name
CUSTOM_NAME_SOURCE = "https://repost.aws/knowledge-center/cloudformation-custom-name"
# CloudFormation refuses an update that changes a logical ID's type ("Update of resource type is
# not permitted"): https://github.com/aws/aws-sam-cli/issues/6786
TYPE_CHANGE_SOURCE = "https://github.com/aws/aws-sam-cli/issues/6786"

# Lambda creates and deletes a VPC function's network interfaces with its execution role
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html): the managed policy, or these actions.
VPC_ACCESS_POLICIES = ("AWSLambdaVPCAccessExecutionRole", "AWSLambdaENIManagementAccess")
VPC_ACCESS_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces")


# -- schemas -------------------------------------------------------------------


@functools.cache
def _schemas() -> ProviderSchemaManager:
    """cfn-lint's schemas with the repo's additions, as .cfnlintrc.yaml gives them to cfn-lint.

    An instance of our own, so that cfn-lint's shared one stays unpatched.
    """
    manager = ProviderSchemaManager()
    manager.load_registry_schemas(str(CFN_LINT_ADDITIONS / "registry"))
    patch = json.loads((CFN_LINT_ADDITIONS / "override-spec.json").read_text())
    manager.patch(SchemaPatch.from_dict(patch), REGION)
    return manager


@functools.cache
def create_only(typ: str) -> tuple[str, ...]:
    """The type's create-only properties, as JSON pointers (/properties/...)."""
    return tuple(_schemas().get_resource_schema(REGION, typ).schema.get("createOnlyProperties", []))


@functools.cache
def own_names(typ: str) -> tuple[str, ...]:
    """The type's custom-name properties: create-only, settable, and named Name or after the type.

    "After the type" (LogGroupName, RoleName, GroupName of a SecurityGroup) keeps out the names of
    other things that some types also fix at creation: a Permission's FunctionName, a VPC endpoint's
    ServiceName, a record's HostedZoneName.
    """
    schema = _schemas().get_resource_schema(REGION, typ).schema
    read_only = set(schema.get("readOnlyProperties", []))
    type_name = typ.split("::")[-1] + "Name"
    names = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")[2:]
        if len(parts) == 1 and pointer not in read_only and (parts[0] == "Name" or type_name.endswith(parts[0])):
            names.append(parts[0])
    return tuple(names)


# -- comparing two rendered templates --------------------------------------------


def _is_intrinsic(node: Any) -> bool:
    return (
        isinstance(node, dict) and len(node) == 1 and (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::"))
    )


def _at(props: dict[str, Any], path: list[str]) -> Any:
    """The value at a property path, None when absent; a reference on the way is the value."""
    node: Any = props
    for i, part in enumerate(path):
        if _is_intrinsic(node):
            return node
        if isinstance(node, list):
            return [_at(item, path[i + 1 :]) for item in node] if part == "*" else None
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _pointer(pointer: str) -> list[str]:
    return pointer.split("/")[2:]


def _norm(node: Any) -> str:
    """A value as CloudFormation compares it: every scalar reaches the handler as a string."""

    def scalars(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: scalars(v) for k, v in x.items()}
        if isinstance(x, list):
            return [scalars(v) for v in x]
        if isinstance(x, bool):
            return str(x).lower()
        return x if x is None else str(x)

    return json.dumps(scalars(node), sort_keys=True)


def references(node: Any) -> set[str]:
    """The logical IDs a value refers to: Ref, Fn::GetAtt and Fn::Sub's ${Name} and ${Name.Attr}."""
    found: set[str] = set()
    if isinstance(node, list):
        for x in node:
            found |= references(x)
    elif isinstance(node, dict):
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                return {arg}
            if key == "Fn::GetAtt":
                return {arg[0] if isinstance(arg, list) else arg.split(".")[0]}
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    head = name.split(".")[0]
                    if name not in variables and not head.startswith("AWS::"):
                        found.add(head)
                return found | references(variables)
        for v in node.values():
            found |= references(v)
    return found


@dataclass
class Diff:
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    # logical ID -> why it is replaced
    replaced: dict[str, str] = field(default_factory=dict)


def diff(before: dict[str, Any], after: dict[str, Any]) -> Diff:
    """How CloudFormation goes from one set of rendered resources to the other."""
    d = Diff(created=set(after) - set(before), deleted=set(before) - set(after))
    common = sorted(set(before) & set(after))
    for lid in common:
        if before[lid]["Type"] != after[lid]["Type"]:
            d.replaced[lid] = f"its type changes from {before[lid]['Type']}"
    # A replacement gives a new physical ID, which can replace what refers to it: repeat until stable.
    grew = True
    while grew:
        grew = False
        for lid in common:
            typ = after[lid]["Type"]
            # A custom resource's physical ID is its handler's to keep or change.
            if lid in d.replaced or typ.startswith("Custom::"):
                continue
            old, new = before[lid].get("Properties", {}), after[lid].get("Properties", {})
            for pointer in create_only(typ):
                b, a = _at(old, _pointer(pointer)), _at(new, _pointer(pointer))
                prop = pointer.removeprefix("/properties/")
                if _norm(b) != _norm(a):
                    d.replaced[lid] = f"{prop} changes"
                elif references(a) & d.replaced.keys():
                    d.replaced[lid] = (
                        f"{prop} refers to replaced {', '.join(sorted(references(a) & d.replaced.keys()))}"
                    )
                else:
                    continue
                grew = True
                break
    for lid in common:
        if lid in d.replaced:
            continue
        old, new = before[lid].get("Properties", {}), after[lid].get("Properties", {})
        if _norm(old) != _norm(new) or references(new) & d.replaced.keys():
            d.updated.add(lid)
    return d


# -- what fails ------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    resource: str
    why: str


def refilled_by(group: str, after: dict[str, Any]) -> list[str]:
    """What registers a replaced target group's targets again: a custom resource that takes the
    group (its Update registers them, docs/contracts.md#customendpointtargets-eni-targets), or a
    refilling function whose environment names it."""
    found = []
    for lid, body in sorted(after.items()):
        props = body.get("Properties", {})
        if body["Type"].startswith("Custom::") and group in references(props):
            found.append(lid)
        elif lid in REFILLING_FUNCTIONS and group in references(props.get("Environment", {})):
            found.append(lid)
    return found


def _has_vpc(function: dict[str, Any]) -> bool:
    return bool(function.get("Properties", {}).get("VpcConfig", {}).get("SubnetIds"))


def _role_of(function: dict[str, Any]) -> str | None:
    role = function.get("Properties", {}).get("Role")
    return role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None


def has_vpc_access(role: dict[str, Any]) -> bool:
    props = role.get("Properties", {})
    for arn in props.get("ManagedPolicyArns", []):
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in VPC_ACCESS_POLICIES:
            return True
    allowed: list[str] = []
    for policy in props.get("Policies", []):
        for statement in policy.get("PolicyDocument", {}).get("Statement", []):
            if statement.get("Effect") == "Allow":
                actions = statement.get("Action", [])
                allowed += [actions] if isinstance(actions, str) else actions
    return all(any(fnmatch.fnmatch(need.lower(), a.lower()) for a in allowed) for need in VPC_ACCESS_ACTIONS)


def findings(before: dict[str, Any], after: dict[str, Any], d: Diff) -> list[Finding]:
    found = []
    # A type change is refused outright.
    for lid, why in d.replaced.items():
        if before[lid]["Type"] != after[lid]["Type"]:
            found.append(
                Finding(lid, f"{why}: CloudFormation refuses to change a logical ID's type ({TYPE_CHANGE_SOURCE})")
            )

    # a. A custom-named resource cannot be replaced under the same name, and a new resource cannot
    # take the name of one deleted in the same update (it is created first).
    for lid, why in d.replaced.items():
        old, new = before[lid].get("Properties", {}), after[lid].get("Properties", {})
        for prop in own_names(after[lid]["Type"]):
            renamed = references(new.get(prop)) & d.replaced.keys()
            if prop in new and _norm(old.get(prop)) == _norm(new[prop]) and not renamed:
                found.append(
                    Finding(lid, f"replaced ({why}) but keeps its custom {prop} {new[prop]!r} ({CUSTOM_NAME_SOURCE})")
                )
    for lid in sorted(d.created):
        typ, new = after[lid]["Type"], after[lid].get("Properties", {})
        for prop in own_names(typ):
            for gone in sorted(d.deleted):
                old = before[gone].get("Properties", {})
                if before[gone]["Type"] == typ and prop in new and _norm(old.get(prop)) == _norm(new[prop]):
                    found.append(
                        Finding(lid, f"created with the {prop} {new[prop]!r} of {gone}, which is deleted only after")
                    )

    # b. A replacement that loses state nothing restores.
    for lid in d.replaced:
        typ = after[lid]["Type"]
        if typ not in STATE_LOST_ON_REPLACEMENT:
            continue
        if typ == "AWS::ElasticLoadBalancingV2::TargetGroup" and refilled_by(lid, after):
            continue
        found.append(Finding(lid, f"replaced ({d.replaced[lid]}): {STATE_LOST_ON_REPLACEMENT[typ]}"))

    # c. A property that goes where CloudFormation does not reset it.
    for lid in sorted(d.updated):
        typ = after[lid]["Type"]
        old, new = before[lid].get("Properties", {}), after[lid].get("Properties", {})
        for (rtype, path), source in NOT_RESET_WHEN_REMOVED.items():
            if rtype != typ:
                continue
            if path.endswith("[Key]"):
                prop = path.removesuffix("[Key]")
                gone = {i["Key"] for i in old.get(prop, [])} - {i["Key"] for i in new.get(prop, [])}
                for key in sorted(gone):
                    found.append(Finding(lid, f"{prop} {key} is left out, which keeps the old value ({source})"))
            elif _at(old, path.split("/")) is not None and _at(new, path.split("/")) is None:
                found.append(Finding(lid, f"{path} is left out, which does not reset it ({source})"))

    # d. A function in a VPC in either template needs VPC access on its role in both: Lambda creates
    # the interfaces with it and deletes them with it, and a grant that arrives in the same update
    # races IAM's eventual consistency
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
    functions = {lid for t in (before, after) for lid, body in t.items() if body["Type"] == "AWS::Lambda::Function"}
    for fn in sorted(functions):
        in_vpc = " and ".join(side for side, t in (("before", before), ("after", after)) if fn in t and _has_vpc(t[fn]))
        if not in_vpc:
            continue
        for role in sorted({r for t in (before, after) if fn in t and (r := _role_of(t[fn]))}):
            for side, t in (("before", before), ("after", after)):
                if role in t and not has_vpc_access(t[role]):
                    found.append(
                        Finding(
                            role,
                            f"has no VPC access {side} the update, while {fn} is in a VPC {in_vpc} it: Lambda "
                            "creates and deletes the function's network interfaces with this role "
                            "(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html)",
                        )
                    )
    return found


# -- the paths -------------------------------------------------------------------


def _params() -> dict[str, Any]:
    return raw_template()["Parameters"]


def value_of(overrides: dict[str, str], name: str) -> str:
    """A parameter's value as CloudFormation receives it, under these overrides."""
    spec = _params()[name]
    return str(overrides.get(name, BASE_PARAMS.get(name, spec.get("Default", ""))))


def _canonical(overrides: dict[str, str]) -> dict[str, str]:
    """The overrides without those that equal the default, so equal parameter sets share one render."""
    return {k: v for k, v in overrides.items() if v != value_of({}, k)}


def candidates(name: str) -> list[str]:
    """The values a change of this parameter is checked with."""
    spec = _params()[name]
    if "AllowedValues" in spec:
        return [str(v) for v in spec["AllowedValues"]]
    values = [value_of(s, name) for s in [{}, *SCENARIOS.values()]]
    return list(dict.fromkeys(values))


@functools.cache
def passed_through() -> frozenset[str]:
    """The parameters that no Condition or Rule reads: their value only lands in properties, so any
    other value changes the same properties, and one stands for all (LogRetentionInDays has 22)."""
    template = raw_template()
    read = references([template.get("Conditions", {}), template.get("Rules", {})])
    return frozenset(_params().keys() - read)


@functools.cache
def _rule_parameters() -> dict[str, set[str]]:
    """Each Rule assertion's description -> the parameters its rule condition and assertion name."""
    names = {}
    for rule in raw_template().get("Rules", {}).values():
        for assertion in rule["Assertions"]:
            names[assertion["AssertDescription"]] = references([rule.get("RuleCondition", {}), assertion["Assert"]])
    return names


def with_companions(before: dict[str, str], name: str, value: str) -> dict[str, str] | None:
    """The parameters after setting name to value, with what the Rules make change with it; None if refused."""
    # The other values come from the first scenario that has this value (or the defaults).
    source = next((s for s in SCENARIOS.values() if value_of(s, name) == value), {})
    after = {**before, name: value}
    fixed = {name}
    try:
        while failures := rule_failures(after):
            more = set().union(*(_rule_parameters()[f] for f in failures)) - fixed
            if not more:
                return None
            after.update({n: value_of(source, n) for n in more})
            fixed |= more
        render(_canonical(after))
    except TemplateError:
        return None
    return _canonical(after)


@dataclass(frozen=True)
class Change:
    variant: str
    parameter: str
    old: str
    new: str
    # (parameter, old, new) that the Rules make change too
    companions: tuple[tuple[str, str, str], ...] = ()

    def __str__(self) -> str:
        text = f"{self.variant}: {self.parameter} {self.old!r} -> {self.new!r}"
        if self.companions:
            text += " with " + ", ".join(f"{n} {o!r} -> {v!r}" for n, o, v in self.companions)
        return text


@dataclass
class Outcome:
    change: Change
    # the parameter overrides after the change
    after: dict[str, str]
    diff: Diff
    findings: list[Finding]


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    refused: list[Change] = field(default_factory=list)

    @property
    def findings(self) -> list[tuple[Change, Finding]]:
        return [(o.change, f) for o in self.outcomes for f in o.findings]

    def report(self) -> str:
        """The findings, each with every path it is found on."""
        paths: dict[Finding, list[Change]] = {}
        for change, finding in self.findings:
            paths.setdefault(finding, []).append(change)
        lines = []
        for finding, changes in paths.items():
            lines.append(f"{finding.resource} {finding.why}, on {len(changes)} paths:")
            lines += [f"    {c}" for c in changes]
        return "\n".join(lines)

    def summary(self) -> str:
        with_companions = sum(1 for o in self.outcomes if o.change.companions)
        return (
            f"update paths checked: {len(self.outcomes)} "
            f"({with_companions} with the parameters a Rule makes change too; "
            f"{len(self.refused)} more refused by Rules), findings: {len(self.findings)}"
        )


@functools.cache
def _compare(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...]) -> tuple[Diff, list[Finding]]:
    old, new = render(dict(before)).resources, render(dict(after)).resources
    d = diff(old, new)
    return d, findings(old, new, d)


def changes(variant: str) -> Iterator[tuple[Change, dict[str, str] | None]]:
    """Each change a user can make to a scenario, with the parameters after it (None if refused)."""
    before = _canonical(SCENARIOS[variant])
    for name in _params():
        old = value_of(before, name)
        others = [v for v in candidates(name) if v != old]
        for value in others[:1] if name in passed_through() else others:
            after = with_companions(before, name, value)
            companions: tuple[tuple[str, str, str], ...] = ()
            if after is not None:
                moved = [n for n in _params() if n != name and value_of(before, n) != value_of(after, n)]
                companions = tuple((n, value_of(before, n), value_of(after, n)) for n in moved)
            yield Change(variant, name, old, value, companions), after


def check() -> Result:
    result = Result()
    for variant in SCENARIOS:
        before = tuple(sorted(_canonical(SCENARIOS[variant]).items()))
        for change, after in changes(variant):
            if after is None:
                result.refused.append(change)
                continue
            d, found = _compare(before, tuple(sorted(after.items())))
            result.outcomes.append(Outcome(change, after, d, found))
    return result


# -- the table for users -----------------------------------------------------------


def _parameter_order() -> list[str]:
    groups = raw_template().get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups", [])
    ordered = [p for g in groups for p in g["Parameters"]]
    return ordered + [p for p in _params() if p not in ordered]


def _predicates(name: str) -> Iterator[tuple[str, Callable[[dict[str, str]], bool]]]:
    """How a scenario can be told apart by one parameter: its allowed value, or whether it is set."""
    spec = _params()[name]
    if "AllowedValues" in spec:
        for value in map(str, spec["AllowedValues"]):
            yield f"`{name}` `{value}`", lambda s, value=value: value_of(s, name) == value
    elif value_of({}, name) == "":
        yield f"`{name}` set", lambda s: value_of(s, name) != ""
        yield f"`{name}` empty", lambda s: value_of(s, name) == ""


def _qualifier(where: set[str], among: set[str]) -> str:
    """Nothing when it happens in every scenario checked, else a setting just those scenarios share."""
    if where == among:
        return ""
    if len(where) == 1:
        return f" (in `{next(iter(where))}`)"
    for name in _parameter_order():
        if name in passed_through():
            continue
        for text, holds in _predicates(name):
            if {v for v in among if holds(SCENARIOS[v])} == where:
                return f" (with {text})"
    return f" (in {len(where)} of {len(among)} scenarios)"


def _cell(items: dict[str, set[str]], among: set[str]) -> str:
    """The items with where they happen; numbered siblings that happen together are joined (Egress3–8)."""
    runs: dict[tuple[str, str], list[int]] = {}
    for item, where in items.items():
        stem, number = re.fullmatch(r"(.*?)(\d*)", item).groups()
        runs.setdefault((stem, _qualifier(where, among)), []).append(int(number) if number else -1)
    parts = []
    for (stem, qualifier), numbers in sorted(runs.items(), key=lambda run: (run[0][0], min(run[1]))):
        numbers.sort()
        if numbers == [-1]:
            parts.append(stem + qualifier)
        elif len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
            parts.append(f"{stem}{numbers[0]}–{numbers[-1]}{qualifier}")
        else:
            parts += [f"{stem}{n}{qualifier}" for n in numbers]
    return "; ".join(parts) or "—"


def _kinds(name: str, outcomes: list[Outcome]) -> str:
    spec = _params()[name]
    if "AllowedValues" in spec:
        allowed = [str(v) for v in spec["AllowedValues"]]
        return " ↔ ".join(f"`{v}`" for v in allowed) if len(allowed) <= 3 else "another allowed value"
    kinds = {"set" if o.change.old == "" else "cleared" if o.change.new == "" else "changed" for o in outcomes}
    return ", ".join(k for k in ("set", "cleared", "changed") if k in kinds)


def _interruptions(o: Outcome) -> list[str]:
    """What users notice: each replaced resource of a type in CONSEQUENCES, and each type that one
    resource leaves and another brings (ALB to NLB)."""
    before, after = render(_canonical(SCENARIOS[o.change.variant])).resources, render(o.after).resources
    found = []
    for lid in o.diff.replaced:
        typ = after[lid]["Type"]
        if typ in CONSEQUENCES:
            by = " and ".join(refilled_by(lid, after)) if typ == "AWS::ElasticLoadBalancingV2::TargetGroup" else ""
            found.append(f"{lid}: {CONSEQUENCES[typ]}{f' (by {by})' if by else ''}")
    swapped = {after[lid]["Type"] for lid in o.diff.created} & {before[lid]["Type"] for lid in o.diff.deleted}
    for typ in sorted(swapped & CONSEQUENCES.keys()):
        found.append(f"another {typ.split('::')[-1]}: {CONSEQUENCES[typ]}")
    return found


def table(result: Result) -> str:
    rows = [
        "| Parameter | Changes checked | Replaced | Added or removed | Interruption | Needs care |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in _parameter_order():
        outcomes = [o for o in result.outcomes if o.change.parameter == name]
        if not outcomes:
            rows.append(f"| `{name}` | none: every scenario gives it the same value | | | | |")
            continue
        among = {o.change.variant for o in outcomes}
        replaced: dict[str, set[str]] = {}
        added: dict[str, set[str]] = {}
        interrupted: dict[str, set[str]] = {}
        care: dict[str, set[str]] = {}
        companions: set[str] = set()
        for o in outcomes:
            v = o.change.variant
            for lid in o.diff.replaced:
                replaced.setdefault(lid, set()).add(v)
            for lid in o.diff.created | o.diff.deleted:
                added.setdefault(lid, set()).add(v)
            for text in _interruptions(o):
                interrupted.setdefault(text, set()).add(v)
            for f in o.findings:
                care.setdefault(f"**{f.resource} {f.why}**", set()).add(v)
            companions |= {n for n, _, _ in o.change.companions}
        needs_care = [_cell(care, among)] if care else []
        if companions:
            together = [f"`{n}`" for n in _parameter_order() if n in companions]
            needs_care.append("the Rules make it change with " + ", ".join(together))
        rows.append(
            f"| `{name}` | {_kinds(name, outcomes)} | {_cell(replaced, among)} | {_cell(added, among)} "
            f"| {_cell(interrupted, among)} | {'; '.join(needs_care) or '—'} |"
        )
    return "\n".join(rows) + "\n"


def section(result: Result) -> str:
    """The text between the markers."""
    return (
        f"{BEGIN}\n"
        f"Each row sums up {len(result.outcomes)} changes over the {len(SCENARIOS)} scenarios of\n"
        '`tests/template/render.py`; "(with X)" marks what happens only in the scenarios\n'
        "with that setting. A create-only property that changes, or that names a replaced\n"
        "resource, replaces the resource.\n\n"
        f"{table(result)}{END}"
    )


def updated_doc(text: str, result: Result) -> str:
    if BEGIN not in text:
        text = text.rstrip("\n") + "\n\n" + DOC_SECTION + f"{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + section(result) + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="DOC", type=pathlib.Path, help="write the table into DOC")
    action.add_argument("--check", metavar="DOC", type=pathlib.Path, help="fail if DOC's table is not current")
    args = parser.parse_args(argv)
    # The SAM translator warns about its own metrics on every transform.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    result = check()
    print(result.summary())
    if result.findings:
        print(result.report())
    stale = False
    if args.write:
        args.write.write_text(updated_doc(args.write.read_text(), result))
    elif args.check:
        stale = updated_doc(args.check.read_text(), result) != args.check.read_text()
        if stale:
            print(
                f"{args.check}: the update-paths table is not current; run tools/update_paths.py --write {args.check}"
            )
    return 1 if result.findings or stale else 0


if __name__ == "__main__":
    sys.exit(main())
