"""Renders template.yaml the way CloudFormation would, for the wiring tests and checkov.

The template is read with cfn-lint's YAML loader (so `!Ref`, `!Sub`, ... become their
long forms soundly), transformed with the SAM translator (the same code as the
`AWS::Serverless-2016-10-31` transform), and then resolved under a set of parameter
values: conditions are evaluated, resources and outputs whose condition is false are
dropped, and `Fn::If`, `Ref` to parameters and pseudo parameters, `Fn::Select`,
`Fn::Split`, `Fn::Join` and `Fn::Sub` on known values are resolved. References to
resources (`Ref`, `Fn::GetAtt`) are kept, so tests can compare who points at what.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "frontdoor-test"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/00000000-0000-0000-0000-000000000000",
    "AWS::URLSuffix": "amazonaws.com",
}

# The SAM translator reads the Region from the environment for some ARNs.
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)

# The parameters that have no default, as CloudFormation receives them (strings).
BASE_PARAMS = {
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "DomainName": "api.internal.example.com",
    "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
    "PrivateHostedZoneId": "Z0PRIVATE00000000001",
    "ClientCidrs": "10.0.0.0/8,192.168.0.0/16",
}

CLOUDFRONT = {
    "EnableCloudFront": "true",
    "CloudFrontDomainName": "api.example.com",
    "CloudFrontCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/66666666-7777-8888-9999-000000000000",
    "PublicHostedZoneId": "Z0PUBLIC000000000001",
}
EXISTING_ENDPOINT = {
    "ExistingVpcEndpointId": "vpce-0123456789abcdef0",
    "ExistingVpcEndpointSecurityGroupId": "sg-0123456789abcdef0",
}
OWN_API = {"CreateSampleApi": "false", "RestApiId": "a1b2c3d4e5", "StageName": "prod"}
MTLS = {
    "TrustStoreBundleS3Uri": "s3://frontdoor-trust/certs/ca/bundle.pem",
    "ProbeClientCertificateSecretArn": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:frontdoor/probe-client-AbC123"
    ),
}
# CloudFront's VPC origin presents no client certificate: it gets its own listener (CloudFrontListener).
CLOUDFRONT_MTLS = {**CLOUDFRONT, **MTLS}
# On-premises services behind the private API (seed 003): an NLB, a VPC link, target-sync in the VPC.
ONPREM = {
    "OnPremisesHostname": "inventory.corp.example.com",
    "OnPremisesPort": "8443",
    "OnPremisesCidrs": "10.20.0.0/16,172.16.8.0/24",
}

# HealthSignal route53 with a health check source the stack creates (3 subnets in 3 zones), and
# both with an existing source (docs/health-signals.md).
ROUTE53_NEW_SOURCE = {
    "HealthSignal": "route53",
    "HealthCheckSourceSubnetIds": "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2,subnet-0aaaaaaaaaaaaaaa3",
    "HealthCheckSourceAvailabilityZoneIds": "euw1-az1,euw1-az2,euw1-az3",
}
BOTH_EXISTING_SOURCE = {
    "HealthSignal": "both",
    "HealthCheckSourceId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "HealthCheckSourceSecurityGroupId": "sg-0bbbbbbbbbbbbbbb1",
}

# Named parameter sets: every valid topology the template offers.
SCENARIOS: dict[str, dict[str, str]] = {
    "alb": {},
    "nlb": {"LoadBalancerType": "NLB"},
    "cloudfront": CLOUDFRONT,
    "existing-endpoint": EXISTING_ENDPOINT,
    "own-api": OWN_API,
    "primary": {"FailoverRole": "PRIMARY"},
    "secondary": {"FailoverRole": "SECONDARY"},
    "mtls": MTLS,
    "nlb-mtls": {"LoadBalancerType": "NLB", **MTLS},
    "cloudfront-mtls": CLOUDFRONT_MTLS,
    "nlb-mtls-existing-secrets-endpoint-primary": {
        "LoadBalancerType": "NLB",
        **MTLS,
        "SecretsManagerEndpointSecurityGroupId": "sg-0fedcba9876543210",
        "FailoverRole": "PRIMARY",
    },
    "nlb-existing-own-secondary": {
        "LoadBalancerType": "NLB",
        **EXISTING_ENDPOINT,
        **OWN_API,
        "FailoverRole": "SECONDARY",
    },
    "onprem": ONPREM,
    "onprem-nat": {**ONPREM, "PrivateSubnetsHaveNat": "true", "OnPremisesProtocol": "HTTP", "OnPremisesPort": "80"},
    "onprem-dns-server-nlb": {**ONPREM, "OnPremisesDnsServer": "10.0.0.10:5353", "LoadBalancerType": "NLB"},
    "onprem-own-api": {**ONPREM, **OWN_API},
    "dualstack": {"IpAddressType": "dualstack"},
    "dualstack-nlb-primary": {"IpAddressType": "dualstack", "LoadBalancerType": "NLB", "FailoverRole": "PRIMARY"},
    "route53-new-source-primary": {**ROUTE53_NEW_SOURCE, "FailoverRole": "PRIMARY"},
    "both-existing-source-nlb-dualstack-secondary": {
        **BOTH_EXISTING_SOURCE,
        "LoadBalancerType": "NLB",
        "IpAddressType": "dualstack",
        "FailoverRole": "SECONDARY",
    },
    "both-new-source-cloudfront": {**ROUTE53_NEW_SOURCE, "HealthSignal": "both", **CLOUDFRONT},
    # Every option at once, but the existing endpoint, which a Rule keeps from mutual TLS.
    "everything": {
        **CLOUDFRONT_MTLS,
        **OWN_API,
        **ONPREM,
        "OnPremisesCidrs": ",".join(f"10.{i}.0.0/16" for i in range(8)),
        "OnPremisesDnsServer": "10.0.0.2:53",
        "PrivateSubnetsHaveNat": "true",
        "IpAddressType": "dualstack",
        "FailoverRole": "PRIMARY",
        "AccessLogsBucket": "frontdoor-logs",
        "CloudFrontWebAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/frontdoor/abcd",
        "ProbeCaLayerArn": "arn:aws:lambda:eu-west-1:123456789012:layer:private-ca:3",
        "ProbeCaBundle": "/opt/ca.pem",
        "ClientPrefixListId": "pl-0123456789abcdef0",
    },
}

NO_VALUE = object()


class TemplateError(Exception):
    """What CloudFormation would reject while resolving the template."""


@functools.cache
def raw_template() -> dict[str, Any]:
    """template.yaml as plain JSON-shaped data, with intrinsic short forms expanded."""
    tpl, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return json.loads(json.dumps(tpl))


def parameter_values(overrides: dict[str, str]) -> dict[str, Any]:
    """The values CloudFormation would use, validated against each parameter's constraints."""
    params = raw_template()["Parameters"]
    unknown = set(overrides) - set(params)
    assert not unknown, f"unknown parameters {unknown}"
    values: dict[str, Any] = {}
    for name, spec in params.items():
        given = overrides.get(name, BASE_PARAMS.get(name, spec.get("Default")))
        if given is None:
            raise TemplateError(f"parameter {name} has no value")
        text = str(given)
        typ = spec["Type"]
        is_list = typ == "CommaDelimitedList" or typ.startswith("List<")
        items = text.split(",") if is_list else [text]
        if "AllowedValues" in spec:
            allowed = [str(v) for v in spec["AllowedValues"]]
            for item in items:
                if item not in allowed:
                    raise TemplateError(f"parameter {name}: {item!r} not in {allowed}")
        if "AllowedPattern" in spec:
            for item in items:
                if not re.fullmatch(spec["AllowedPattern"], item):
                    raise TemplateError(f"parameter {name}: {item!r} does not match {spec['AllowedPattern']}")
        if typ == "Number":
            try:
                number = float(text)
            except ValueError:
                raise TemplateError(f"parameter {name}: {text!r} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise TemplateError(f"parameter {name}: {text} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise TemplateError(f"parameter {name}: {text} is above MaxValue {spec['MaxValue']}")
        values[name] = items if is_list else text
    return values


class _Loader:
    """The SAM translator's managed-policy loader; the template names no managed policy by name."""

    def load(self) -> dict[str, str]:
        return {}


@dataclass
class Rendered:
    params: dict[str, Any]
    template: dict[str, Any]
    conditions: dict[str, bool]
    resources: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == typ}

    def props(self, logical_id: str) -> dict[str, Any]:
        assert logical_id in self.resources, f"{logical_id} is not rendered"
        return self.resources[logical_id].get("Properties", {})


class Resolver:
    def __init__(self, template: dict[str, Any], params: dict[str, Any]):
        self.template = template
        self.params = params
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- conditions -------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name in self._evaluating:
                raise TemplateError(f"circular condition {name}")
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._evaluating.add(name)
            self._conditions[name] = self.boolean(conditions[name])
            self._evaluating.discard(name)
        return self._conditions[name]

    def boolean(self, node: Any) -> bool:
        if not (isinstance(node, dict) and len(node) == 1):
            raise TemplateError(f"not a condition: {node!r}")
        ((fn, arg),) = node.items()
        if fn == "Fn::Equals":
            left, right = (self.literal(x) for x in arg)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self.boolean(arg[0])
        if fn == "Fn::And":
            return all(self.boolean(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.boolean(x) for x in arg)
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Contains":
            # A rule function: does the list hold the string? A blank CommaDelimitedList is [""].
            items, value = self.literal(arg[0]), self.literal(arg[1])
            return str(value) in [str(i) for i in items]
        raise TemplateError(f"unsupported condition function {fn}")

    def literal(self, node: Any) -> Any:
        value = self.resolve(node)
        if _has_intrinsic(value):
            raise TemplateError(f"{node!r} does not resolve to a literal")
        return value

    # -- values -----------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Select":
                index, items = self.resolve(arg[0]), self.resolve(arg[1])
                if isinstance(items, list) and not _has_intrinsic(index):
                    try:
                        return items[int(index)]
                    except IndexError:
                        raise TemplateError(f"Fn::Select index {index} out of range of {items!r}") from None
                return {key: [index, items]}
            if key == "Fn::Split":
                delimiter, source = arg[0], self.resolve(arg[1])
                if isinstance(source, str):
                    return source.split(delimiter)
                return {key: [delimiter, source]}
            if key == "Fn::Join":
                delimiter, items = arg[0], self.resolve(arg[1])
                if isinstance(items, list) and all(isinstance(i, str) for i in items):
                    return delimiter.join(items)
                return {key: [delimiter, items]}
            if key == "Fn::Sub":
                return self._sub(arg)
        out = {}
        for k, v in node.items():
            r = self.resolve(v)
            if r is not NO_VALUE:
                out[k] = r
        return out

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        return {"Ref": name}

    def _sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        remaining = {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                value = variables[name]
            elif name in PSEUDO:
                value = PSEUDO[name]
            elif name in self.params:
                value = self.params[name]
            else:
                return match.group(0)
            if isinstance(value, str):
                return value
            remaining[name] = value
            return match.group(0)

        result = re.sub(r"\$\{([^}!]+)\}", replace, text)
        if "${" not in result:
            return result
        return {"Fn::Sub": [result, remaining] if remaining else result}


def _has_intrinsic(node: Any) -> bool:
    if isinstance(node, list):
        return any(_has_intrinsic(x) for x in node)
    if isinstance(node, dict):
        return any(k == "Ref" or k.startswith("Fn::") or _has_intrinsic(v) for k, v in node.items())
    return False


def sam_transform(raw: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    tpl = copy.deepcopy(raw)
    # As `sam validate` does: the translator wants an S3 location, `sam deploy` uploads one.
    tpl["Globals"]["Function"]["CodeUri"] = "s3://bucket/key"
    return transform(tpl, {**params, **PSEUDO}, _Loader())


@functools.cache
def _render(overrides_key: tuple[tuple[str, str], ...]) -> Rendered:
    overrides = dict(overrides_key)
    params = parameter_values(overrides)
    template = sam_transform(raw_template(), params)
    resolver = Resolver(template, params)
    conditions = {name: resolver.condition(name) for name in template.get("Conditions", {})}
    rendered = Rendered(params=params, template=template, conditions=conditions)
    for section, target in (("Resources", rendered.resources), ("Outputs", rendered.outputs)):
        for logical_id, body in template.get(section, {}).items():
            if "Condition" in body and not resolver.condition(body["Condition"]):
                continue
            target[logical_id] = resolver.resolve({k: v for k, v in body.items() if k != "Condition"})
    _check_references(rendered)
    return rendered


def render(overrides: dict[str, str] | None = None) -> Rendered:
    """The template as deployed with BASE_PARAMS plus these parameter values."""
    return _render(tuple(sorted((overrides or {}).items())))


def rule_failures(overrides: dict[str, str]) -> list[str]:
    """The AssertDescriptions of the template's Rules that these parameter values break."""
    params = parameter_values(overrides)
    template = raw_template()
    resolver = Resolver(template, params)
    failures = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not resolver.boolean(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not resolver.boolean(assertion["Assert"]):
                failures.append(assertion["AssertDescription"])
    return failures


def _check_references(rendered: Rendered) -> None:
    """Every reference that survives rendering names a resource that exists in it."""
    known = set(rendered.resources)

    def walk(node: Any, where: str, variables: frozenset[str] = frozenset()) -> None:
        if isinstance(node, list):
            for x in node:
                walk(x, where, variables)
        elif isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref" and isinstance(arg, str) and arg not in known:
                    raise TemplateError(f"{where}: Ref to {arg}, which is not rendered")
                if key == "Fn::GetAtt" and arg[0] not in known:
                    raise TemplateError(f"{where}: GetAtt of {arg[0]}, which is not rendered")
                if key == "Fn::Sub":
                    text, subvars = (arg, {}) if isinstance(arg, str) else arg
                    walk(subvars, where)
                    for name in re.findall(r"\$\{([^}!]+)\}", text):
                        head = name.split(".")[0]
                        if head not in known and name not in subvars:
                            raise TemplateError(f"{where}: Sub names {name}, which is not rendered")
                    return
            for v in node.values():
                walk(v, where, variables)

    for logical_id, body in rendered.resources.items():
        walk(body.get("Properties", {}), logical_id)
        depends = body.get("DependsOn", [])
        for dep in [depends] if isinstance(depends, str) else depends:
            if dep not in known:
                raise TemplateError(f"{logical_id}: DependsOn {dep}, which is not rendered")
    for name, body in rendered.outputs.items():
        walk(body, f"output {name}")
