"""Wiring rules of template.yaml, checked on the rendered template of every topology.

Each test asserts on the specific resources and values that make its rule hold, so
that breaking the rule in the template fails the test.
"""

from __future__ import annotations

import json
import pathlib
import re
import tomllib
from typing import Any

import pytest

from render import (
    BASE_PARAMS,
    BOTH_EXISTING_SOURCE,
    CLOUDFRONT,
    EXISTING_ENDPOINT,
    MTLS,
    ONPREM,
    OWN_API,
    PSEUDO,
    REGION,
    ROOT,
    ROUTE53_NEW_SOURCE,
    SCENARIOS,
    Rendered,
    TemplateError,
    raw_template,
    render,
    rule_failures,
)

STACK_ID = PSEUDO["AWS::StackId"]
ALB_ONLY = ["ApplicationLoadBalancer", "AlbListener"]
NLB_ONLY = ["NetworkLoadBalancer", "NlbListener"]
CLOUDFRONT_ONLY = [
    "CloudFrontOriginSecurityGroup",
    "VpcOrigin",
    "Distribution",
    "PublicRecords",
    "CloudFrontIngress",
    "PrefixListIngressFunction",
    "PrefixListIngressRole",
    "PrefixListIngressLogGroup",
]
CREATED_ENDPOINT_ONLY = ["ExecuteApiEndpoint", "EndpointSecurityGroup"]
SAMPLE_API_ONLY = [
    "SampleApi",
    "SampleHealthResource",
    "SampleRootGet",
    "SampleHealthGet",
    "SampleDeployment",
    "SampleStage",
]
FUNCTIONS = {
    "EniTargetsFunction": "eni-targets",
    "TargetSyncFunction": "target-sync",
    "PrefixListIngressFunction": "prefix-list-ingress",
    "HealthProbeFunction": "health-probe",
}


def endpoint_ref(r: Rendered) -> Any:
    """What the endpoint ID resolves to: the stack's endpoint, or the given one."""
    if r.params["ExistingVpcEndpointId"]:
        return r.params["ExistingVpcEndpointId"]
    return {"Ref": "ExecuteApiEndpoint"}


def env(r: Rendered, function: str) -> dict[str, Any]:
    return r.props(function)["Environment"]["Variables"]


# The health check that the failover records use, and the HealthCheckId output names, per HealthSignal.
RECORD_CHECK = {"probe": "HealthCheck", "route53": "PrivateHealthCheck", "both": "CombinedHealthCheck"}


def health_check_source_group(r: Rendered) -> Any:
    """The security group of the health check source's network interfaces."""
    if r.params["HealthCheckSourceId"]:
        return r.params["HealthCheckSourceSecurityGroupId"]
    return {"Fn::GetAtt": ["HealthCheckSourceSecurityGroup", "GroupId"]}


# ---------------------------------------------------------------- target bindings


def parse_bindings(value: Any) -> list[dict[str, Any]]:
    """FRONTDOOR_BINDINGS as target-sync will read it, with references kept as references.

    Each `${...}` of the Fn::Sub becomes a placeholder string; after JSON parsing, a
    placeholder that is a whole JSON string turns back into what it stands for.
    """
    assert isinstance(value, dict) and set(value) == {"Fn::Sub"}, (
        f"FRONTDOOR_BINDINGS must be an Fn::Sub, got {value!r}"
    )
    arg = value["Fn::Sub"]
    text, variables = (arg, {}) if isinstance(arg, str) else arg
    slots: dict[str, Any] = {}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            target = variables[name]
        elif "." in name:
            target = {"Fn::GetAtt": name.split(".", 1)}
        else:
            target = {"Ref": name}
        key = f"@@{len(slots)}@@"
        slots[key] = target
        return key

    parsed = json.loads(re.sub(r"\$\{([^}!]+)\}", placeholder, text))

    def restore(node: Any) -> Any:
        if isinstance(node, str):
            if node in slots:
                return slots[node]
            assert "@@" not in node, f"a reference is embedded in a longer string: {node!r}"
            return node
        if isinstance(node, list):
            return [restore(x) for x in node]
        if isinstance(node, dict):
            return {k: restore(v) for k, v in node.items()}
        return node

    return restore(parsed)


@pytest.mark.parametrize("name", ["alb", "nlb", "existing-endpoint", "everything"])
def test_bindings_name_the_custom_resources_endpoint_target_group_and_port(name: str) -> None:
    r = render(SCENARIOS[name])
    bindings = parse_bindings(env(r, "TargetSyncFunction")["FRONTDOOR_BINDINGS"])
    custom = r.props("EndpointTargets")
    assert r.resources["EndpointTargets"]["Type"] == "Custom::EndpointTargets"

    # With OnPremisesHostname a second binding follows (test_hostname_binding_...).
    assert len(bindings) == (2 if r.conditions["HasOnPremises"] else 1)
    binding = bindings[0]
    assert set(binding) == {"vpcEndpointId", "targetGroupArns", "port"}
    assert binding["vpcEndpointId"] == custom["VpcEndpointId"] == endpoint_ref(r)
    assert binding["targetGroupArns"] == custom["TargetGroupArns"] == [{"Ref": "ApiTargetGroup"}]
    assert int(binding.get("port", 443)) == int(custom["Port"]) == 443
    assert env(r, "TargetSyncFunction")["METRIC_NAMESPACE"] == "Frontdoor"


def test_the_bound_target_group_is_the_one_the_listener_forwards_to(scenario: Rendered) -> None:
    lb = {"Ref": "ApplicationLoadBalancer" if scenario.conditions["IsAlb"] else "NetworkLoadBalancer"}
    all_listeners = scenario.of_type("AWS::ElasticLoadBalancingV2::Listener")
    listeners = {k: v for k, v in all_listeners.items() if v["Properties"]["LoadBalancerArn"] == lb}
    # The on-premises NLB's listener is the only one on another load balancer.
    assert set(all_listeners) - set(listeners) == (
        {"OnPremisesListener"} if scenario.conditions["HasOnPremises"] else set()
    )
    # A second listener only for CloudFront with mutual TLS (CloudFrontListener).
    assert len(listeners) == (2 if scenario.conditions["CloudFrontOwnListener"] else 1)
    for listener in listeners.values():
        actions = listener["Properties"]["DefaultActions"]
        assert actions == [{"Type": "forward", "TargetGroupArn": {"Ref": "ApiTargetGroup"}}]
    assert scenario.props("EndpointTargets")["TargetGroupArns"] == [{"Ref": "ApiTargetGroup"}]


def test_parse_bindings_sees_a_mismatch() -> None:
    """The parser must not hide a binding that names another endpoint or group."""
    other = parse_bindings(
        {"Fn::Sub": ['[{"vpcEndpointId":"${E}","targetGroupArns":["${Other}"],"port":8443}]', {"E": "vpce-1"}]}
    )
    assert other == [{"vpcEndpointId": "vpce-1", "targetGroupArns": [{"Ref": "Other"}], "port": 8443}]


# ---------------------------------------------------------------- IAM

READ_ONLY = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z0-9]+$")
ALLOWED_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
}


def _listify(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def policy_documents(r: Rendered) -> list[tuple[str, dict[str, Any]]]:
    """Every identity policy document in the rendered template, SAM-generated ones included."""
    docs = []
    for logical_id, res in r.resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                docs.append((f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"]))
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            docs.append((logical_id, props["PolicyDocument"]))
    return docs


def writes_on_star(document: dict[str, Any]) -> list[str]:
    """Actions other than Describe/Get/List that an Allow statement grants on "*"."""
    bad = []
    for statement in _listify(document["Statement"]):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            bad.append(f"NotAction/NotResource in {statement}")
            continue
        if "*" not in _listify(statement["Resource"]):
            continue
        for action in _listify(statement["Action"]):
            if not READ_ONLY.match(action):
                bad.append(action)
    return bad


def test_the_write_on_star_check_catches_writes() -> None:
    assert writes_on_star(
        {"Statement": [{"Effect": "Allow", "Action": "ec2:AuthorizeSecurityGroupIngress", "Resource": "*"}]}
    )
    assert writes_on_star({"Statement": {"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": ["*"]}})
    assert writes_on_star({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    assert not writes_on_star(
        {"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcEndpoints", "Resource": "*"}]}
    )


def test_no_iam_statement_allows_a_write_on_star(scenario: Rendered) -> None:
    documents = policy_documents(scenario)
    assert len(documents) >= 2
    for name, document in documents:
        assert writes_on_star(document) == [], name


def test_no_managed_policy_broader_than_basic_execution(scenario: Rendered) -> None:
    for logical_id, role in scenario.of_type("AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert arn in ALLOWED_MANAGED, f"{logical_id}: {arn}"
    probe = scenario.props("HealthProbeRole")
    assert probe["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    # The probe's only AWS call is reading its client certificate, and only with mutual TLS.
    assert bool(probe["Policies"]) is bool(scenario.params["ProbeClientCertificateSecretArn"])


def statements(r: Rendered, role: str) -> dict[str, dict[str, Any]]:
    (policy,) = r.props(role)["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def sorted_actions(statement: dict[str, Any]) -> list[str]:
    return sorted(_listify(statement["Action"]))


TARGET_GROUPS = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/*"
READS = {
    "EniTargetsRole": [
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcEndpoints",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
    ],
    "TargetSyncRole": [
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
    ],
}


@pytest.mark.parametrize(
    "role,log_group", [("EniTargetsRole", "EniTargetsLogGroup"), ("TargetSyncRole", "TargetSyncLogGroup")]
)
def test_target_writers_may_write_only_the_target_group(scenario: Rendered, role: str, log_group: str) -> None:
    s = statements(scenario, role)
    # Both tag their target groups: eni-targets with its claims, target-sync with its no-flap state.
    assert set(s) == {"Logs", "ReadEndpointAndTargets", "WriteTargets", "TagOwnTargetGroups"}
    assert sorted_actions(s["WriteTargets"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]
    # Every target group of this stack (tag), so that the old one stays writable during a replacement.
    assert _listify(s["WriteTargets"]["Resource"]) == [TARGET_GROUPS]
    assert s["WriteTargets"]["Condition"] == {"StringEquals": {"aws:ResourceTag/frontdoor:stack": STACK_ID}}
    for group in scenario.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").values():
        assert {"Key": "frontdoor:stack", "Value": STACK_ID} in group["Properties"]["Tags"]
    assert sorted_actions(s["ReadEndpointAndTargets"]) == READS[role]
    assert sorted_actions(s["Logs"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert _listify(s["Logs"]["Resource"]) == [{"Fn::GetAtt": [log_group, "Arn"]}]


@pytest.mark.parametrize(
    "role,keys", [("EniTargetsRole", "frontdoor:owner:*"), ("TargetSyncRole", "frontdoor:unseen:*")]
)
def test_target_writers_may_tag_only_their_own_groups_with_their_own_keys(
    scenario: Rendered, role: str, keys: str
) -> None:
    tag = statements(scenario, role)["TagOwnTargetGroups"]
    assert sorted_actions(tag) == ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    assert _listify(tag["Resource"]) == [TARGET_GROUPS]
    # This stack's groups, and only the function's own keys (eni-targets' claims, target-sync's
    # no-flap state), present (never a request without keys).
    assert tag["Condition"] == {
        "StringEquals": {"aws:ResourceTag/frontdoor:stack": STACK_ID},
        "ForAllValues:StringLike": {"aws:TagKeys": keys},
        "Null": {"aws:TagKeys": "false"},
    }


def test_prefix_list_ingress_may_write_only_its_own_group() -> None:
    r = render(CLOUDFRONT)
    s = statements(r, "PrefixListIngressRole")
    assert set(s) == {
        "Logs",
        "ReadGroupsAndPrefixLists",
        "WriteOwnGroupsIngress",
        "CreateRulesInOwnGroups",
        "TagOwnRules",
    }
    rule_arns = f"arn:aws:ec2:{REGION}:123456789012:security-group-rule/*"
    write = s["WriteOwnGroupsIngress"]
    assert sorted_actions(write) == ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    assert write["Resource"] == f"arn:aws:ec2:{REGION}:123456789012:security-group/*"
    assert write["Condition"] == {"StringEquals": {"aws:ResourceTag/frontdoor:stack": STACK_ID}}
    assert {"Key": "frontdoor:stack", "Value": STACK_ID} in r.props("CloudFrontOriginSecurityGroup")["Tags"]
    assert sorted_actions(s["CreateRulesInOwnGroups"]) == ["ec2:AuthorizeSecurityGroupIngress"]
    assert s["CreateRulesInOwnGroups"]["Resource"] == rule_arns
    # Tags: only on rules, and only the function's own owner tags (present, never all tags).
    tag = s["TagOwnRules"]
    assert sorted_actions(tag) == ["ec2:CreateTags", "ec2:DeleteTags"]
    assert _listify(tag["Resource"]) == [rule_arns]
    assert tag["Condition"] == {
        "ForAllValues:StringLike": {"aws:TagKeys": "frontdoor:owner:*"},
        "Null": {"aws:TagKeys": "false"},
    }
    assert sorted_actions(s["ReadGroupsAndPrefixLists"]) == [
        "ec2:DescribeManagedPrefixLists",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:GetManagedPrefixListEntries",
    ]
    # ... and that group is the one the custom resource opens.
    assert r.props("CloudFrontIngress")["SecurityGroupId"] == {
        "Fn::GetAtt": ["CloudFrontOriginSecurityGroup", "GroupId"]
    }


def test_every_function_uses_its_own_role(scenario: Rendered) -> None:
    roles = {}
    for logical_id, fn in scenario.of_type("AWS::Lambda::Function").items():
        role = fn["Properties"]["Role"]
        assert role["Fn::GetAtt"][1] == "Arn"
        roles[logical_id] = role["Fn::GetAtt"][0]
    assert len(set(roles.values())) == len(roles), roles
    assert roles["HealthProbeFunction"] == "HealthProbeRole"
    assert roles["EniTargetsFunction"] == "EniTargetsRole"
    assert roles["TargetSyncFunction"] == "TargetSyncRole"


# ---------------------------------------------------------------- health chain


def test_alarm_treats_missing_data_as_breaching_on_the_probes_metric(scenario: Rendered) -> None:
    alarm = scenario.props("HealthAlarm")
    probe = env(scenario, "HealthProbeFunction")
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["MetricName"] == "Healthy"
    assert alarm["Namespace"] == probe["METRIC_NAMESPACE"] == "Frontdoor"
    assert alarm["Dimensions"] == [{"Name": "Probe", "Value": probe["PROBE_NAME"]}]
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["Statistic"] == "Minimum"


def test_health_check_is_on_the_alarm_and_unhealthy_without_data(scenario: Rendered) -> None:
    if scenario.params["HealthSignal"] == "route53":
        assert "HealthCheck" not in scenario.resources
        return
    config = scenario.props("HealthCheck")["HealthCheckConfig"]
    assert config["Type"] == "CLOUDWATCH_METRIC"
    assert config["AlarmIdentifier"] == {"Name": {"Ref": "HealthAlarm"}, "Region": REGION}
    assert config["InsufficientDataHealthStatus"] == "Unhealthy"


def test_probe_runs_in_the_vpc_every_minute_against_the_custom_domain(scenario: Rendered) -> None:
    p = scenario.params
    fn = scenario.props("HealthProbeFunction")
    # Dual stack: the load balancer answers AAAA too, and Lambda gives the function IPv6 egress only
    # with Ipv6AllowedForDualStack (issue 22); false is said, so that turning it off resets it.
    assert fn["VpcConfig"] == {
        "SubnetIds": p["SubnetIds"],
        "SecurityGroupIds": [{"Fn::GetAtt": ["ProbeSecurityGroup", "GroupId"]}],
        "Ipv6AllowedForDualStack": p["IpAddressType"] == "dualstack",
    }
    e = env(scenario, "HealthProbeFunction")
    assert e["PROBE_URL"] == f"https://{p['DomainName']}{p['HealthPath']}"
    assert e["PROBE_NAME"] == p["DomainName"]
    assert e["PROBE_EXPECTED_STATUS"] == p["ProbeExpectedStatus"]
    assert e.get("PROBE_CLIENT_CERT_SECRET", "") == p["ProbeClientCertificateSecretArn"]
    assert e.get("PROBE_CA_BUNDLE", "") == p["ProbeCaBundle"]
    assert int(e["PROBE_TIMEOUT_MS"]) * int(e["PROBE_ATTEMPTS"]) < fn["Timeout"] * 1000
    rules = [
        res["Properties"]
        for res in scenario.of_type("AWS::Events::Rule").values()
        if res["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["HealthProbeFunction", "Arn"]}
    ]
    assert [rule.get("ScheduleExpression") for rule in rules] == ["rate(1 minute)"]


@pytest.mark.parametrize("role", ["NONE", "PRIMARY", "SECONDARY"])
@pytest.mark.parametrize("lb", ["ALB", "NLB"])
def test_private_record_is_simple_or_failover_with_the_health_check(role: str, lb: str) -> None:
    r = render({"FailoverRole": role, "LoadBalancerType": lb})
    records = r.of_type("AWS::Route53::RecordSet")
    assert list(records) == ["PrivateRecord"]
    record = r.props("PrivateRecord")
    lb_id = "ApplicationLoadBalancer" if lb == "ALB" else "NetworkLoadBalancer"
    assert record["HostedZoneId"] == BASE_PARAMS["PrivateHostedZoneId"]
    assert record["Name"] == BASE_PARAMS["DomainName"]
    assert record["Type"] == "A"
    assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [lb_id, "DNSName"]}
    assert record["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": [lb_id, "CanonicalHostedZoneID"]}
    if role == "NONE":
        for key in ("Failover", "SetIdentifier", "HealthCheckId"):
            assert key not in record
    else:
        assert record["Failover"] == role
        assert record["HealthCheckId"] == {"Ref": "HealthCheck"}
        assert record["SetIdentifier"] == f"{role}-{REGION}"
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True


# ---------------------------------------------------------------- functions and crates


def cargo_bins(crate_dir: pathlib.Path) -> set[str]:
    manifest = tomllib.loads((crate_dir / "Cargo.toml").read_text())
    return {b["name"] for b in manifest.get("bin", [])}


def test_every_serverless_function_has_a_binary_crate_in_the_workspace() -> None:
    raw = raw_template()
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    functions = {k: v for k, v in raw["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert {k: v["Metadata"]["BuildProperties"]["Binary"] for k, v in functions.items()} == FUNCTIONS
    for logical_id, fn in functions.items():
        assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda", logical_id
        binary = fn["Metadata"]["BuildProperties"]["Binary"]
        crate = ROOT / "functions" / binary
        assert (crate / "Cargo.toml").is_file(), f"{logical_id}: no crate functions/{binary}"
        assert binary in cargo_bins(crate), f"{logical_id}: functions/{binary} has no [[bin]] {binary}"
        assert f"functions/{binary}" in workspace, f"functions/{binary} is not a workspace member"
    # ... and no function crate is left out of the template.
    crates = {p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml")}
    assert crates == set(FUNCTIONS.values())


def test_every_function_is_rust_on_arm64_al2023_from_the_workspace_root() -> None:
    raw = raw_template()
    globals_ = raw["Globals"]["Function"]
    for logical_id, fn in raw["Resources"].items():
        if fn["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **fn["Properties"]}
        assert props["Runtime"] == "provided.al2023", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["Handler"] == "bootstrap", logical_id
        assert props["CodeUri"] == ".", logical_id


def test_every_function_logs_json_to_its_own_log_group_with_retention(scenario: Rendered) -> None:
    groups = []
    for logical_id, fn in scenario.of_type("AWS::Lambda::Function").items():
        logging = fn["Properties"]["LoggingConfig"]
        assert logging["LogFormat"] == "JSON", logical_id
        group = logging["LogGroup"]["Ref"]
        assert scenario.resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert int(scenario.props(group)["RetentionInDays"]) > 0
        groups.append(group)
    assert len(groups) == len(set(groups))


# ---------------------------------------------------------------- custom resources


def test_custom_resources_set_a_service_timeout_longer_than_their_function(scenario: Rendered) -> None:
    customs = {k: v for k, v in scenario.resources.items() if v["Type"].startswith("Custom::")}
    assert "EndpointTargets" in customs
    for logical_id, res in customs.items():
        props = res["Properties"]
        timeout = int(props["ServiceTimeout"])
        function = props["ServiceToken"]["Fn::GetAtt"][0]
        assert int(scenario.props(function)["Timeout"]) < timeout <= 600, logical_id


def test_endpoint_targets_is_handled_by_eni_targets(scenario: Rendered) -> None:
    assert scenario.props("EndpointTargets")["ServiceToken"] == {"Fn::GetAtt": ["EniTargetsFunction", "Arn"]}


def test_target_group_has_no_static_targets_and_checks_ping(scenario: Rendered) -> None:
    tg = scenario.props("ApiTargetGroup")
    assert "Targets" not in tg
    alb = scenario.params["LoadBalancerType"] == "ALB"
    assert tg["TargetType"] == "ip"
    assert tg["Protocol"] == ("HTTPS" if alb else "TLS")
    assert tg["Port"] == 443
    assert tg["HealthCheckProtocol"] == "HTTPS"
    assert tg["HealthCheckPath"] == "/ping"
    assert tg["Matcher"] == {"HttpCode": "200"}


def test_target_sync_reacts_to_endpoint_api_calls_and_runs_on_a_schedule(scenario: Rendered) -> None:
    rules = [
        res["Properties"]
        for res in scenario.of_type("AWS::Events::Rule").values()
        if res["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["TargetSyncFunction", "Arn"]}
    ]
    schedules = [r["ScheduleExpression"] for r in rules if "ScheduleExpression" in r]
    patterns = [r["EventPattern"] for r in rules if "EventPattern" in r]
    # A changed DNS answer has no CloudTrail event: with on-premises names, every minute.
    assert schedules == (["rate(1 minute)"] if scenario.params["OnPremisesHostname"] else ["rate(5 minutes)"])
    assert patterns == [
        {
            "source": ["aws.ec2"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["ec2.amazonaws.com"],
                "eventName": ["CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints"],
            },
        }
    ]


# ---------------------------------------------------------------- load balancer


def test_alb_listener_is_tls13_https_with_the_domain_certificate() -> None:
    r = render({})
    listener = r.props("AlbListener")
    assert listener["Protocol"] == "HTTPS" and listener["Port"] == 443
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert listener["Certificates"] == [{"CertificateArn": BASE_PARAMS["CertificateArn"]}]
    assert listener["MutualAuthentication"] == {"Mode": "off"}
    attrs = {a["Key"]: a["Value"] for a in r.props("ApplicationLoadBalancer")["LoadBalancerAttributes"]}
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["deletion_protection.enabled"] == "false"
    assert r.props("ApplicationLoadBalancer")["Scheme"] == "internal"


def test_nlb_listener_is_tls13_tls_with_the_domain_certificate() -> None:
    r = render({"LoadBalancerType": "NLB"})
    listener = r.props("NlbListener")
    assert listener["Protocol"] == "TLS" and listener["Port"] == 443
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert listener["Certificates"] == [{"CertificateArn": BASE_PARAMS["CertificateArn"]}]
    nlb = r.props("NetworkLoadBalancer")
    assert nlb["Scheme"] == "internal"
    assert nlb["SecurityGroups"] == [{"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}]


@pytest.mark.parametrize(
    "uri,bucket,key",
    [
        ("s3://frontdoor-trust/bundle.pem", "frontdoor-trust", "bundle.pem"),
        ("s3://frontdoor-trust/certs/bundle.pem", "frontdoor-trust", "certs/bundle.pem"),
        ("s3://frontdoor-trust/certs/ca/bundle.pem", "frontdoor-trust", "certs/ca/bundle.pem"),
        ("s3://a.b-c/1/2/3/bundle.pem", "a.b-c", "1/2/3/bundle.pem"),
    ],
)
def test_trust_store_uri_turns_the_listener_to_verified_mutual_tls(uri: str, bucket: str, key: str) -> None:
    r = render({**MTLS, "TrustStoreBundleS3Uri": uri})
    store = r.props("TrustStore")
    assert store["CaCertificatesBundleS3Bucket"] == bucket
    assert store["CaCertificatesBundleS3Key"] == key
    assert r.props("AlbListener")["MutualAuthentication"] == {
        "Mode": "verify",
        "TrustStoreArn": {"Ref": "TrustStore"},
        "IgnoreClientCertificateExpiry": False,
    }


def test_trust_store_keys_deeper_than_four_segments_are_refused() -> None:
    with pytest.raises(TemplateError):
        render({"TrustStoreBundleS3Uri": "s3://frontdoor-trust/1/2/3/4/bundle.pem"})


# ---------------------------------------------------------------- security groups

NO_EGRESS = {"CidrIp": "127.0.0.1/32", "IpProtocol": "-1"}


def group_rules(r: Rendered) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, direction, rule) for every inline and standalone security-group rule."""
    rules = []
    for logical_id, res in r.resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::EC2::SecurityGroup":
            for rule in props.get("SecurityGroupIngress", []):
                rules.append((logical_id, "in", rule))
            for rule in props.get("SecurityGroupEgress", []):
                rules.append((logical_id, "out", rule))
        elif res["Type"] == "AWS::EC2::SecurityGroupIngress":
            rules.append((json.dumps(props["GroupId"]), "in", props))
        elif res["Type"] == "AWS::EC2::SecurityGroupEgress":
            rules.append((json.dumps(props["GroupId"]), "out", props))
    return rules


def group_id(logical_id: str) -> str:
    return json.dumps({"Fn::GetAtt": [logical_id, "GroupId"]})


# Their rules are not on 443: the service's port, and DNS (their own tests below).
OFF_443 = {
    "OnPremisesLoadBalancerSecurityGroup",
    group_id("OnPremisesLoadBalancerSecurityGroup"),
    json.dumps({"Fn::GetAtt": ["TargetSyncSecurityGroup", "GroupId"]}),
}


def is_no_egress(rule: dict[str, Any]) -> bool:
    return {k: rule[k] for k in NO_EGRESS if k in rule} == NO_EGRESS


def test_every_security_group_rule_is_tcp_443_or_no_egress(scenario: Rendered) -> None:
    for group, direction, rule in group_rules(scenario):
        if direction == "out" and is_no_egress(rule):
            continue
        if group in OFF_443:
            continue
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443), (group, rule)
    for logical_id, sg in scenario.of_type("AWS::EC2::SecurityGroup").items():
        assert sg["Properties"].get("SecurityGroupEgress"), f"{logical_id} keeps the default allow-all egress"


def test_load_balancer_admits_only_clients_and_the_probe_and_reaches_only_the_endpoint(scenario: Rendered) -> None:
    p = scenario.params
    lb = group_id("LoadBalancerSecurityGroup")
    endpoint = (
        json.dumps(p["ExistingVpcEndpointSecurityGroupId"])
        if p["ExistingVpcEndpointId"]
        else group_id("EndpointSecurityGroup")
    )
    rules = group_rules(scenario)
    lb_in = sorted(
        json.dumps(
            {k: v for k, v in rule.items() if k in ("CidrIp", "SourceSecurityGroupId", "SourcePrefixListId")},
            sort_keys=True,
        )
        for group, d, rule in rules
        if group == lb and d == "in"
    )
    expected = [json.dumps({"CidrIp": c}) for c in p["ClientCidrs"] if c]
    expected.append(json.dumps({"SourceSecurityGroupId": {"Fn::GetAtt": ["ProbeSecurityGroup", "GroupId"]}}))
    if p["HealthSignal"] != "probe":
        expected.append(json.dumps({"SourceSecurityGroupId": health_check_source_group(scenario)}))
    if p["ClientPrefixListId"]:
        expected.append(json.dumps({"SourcePrefixListId": p["ClientPrefixListId"]}))
    assert lb_in == sorted(expected)

    (lb_out,) = [rule for group, d, rule in rules if group == "LoadBalancerSecurityGroup" and d == "out"]
    assert json.dumps(lb_out["DestinationSecurityGroupId"]) == endpoint

    endpoint_in = [rule for group, d, rule in rules if group == endpoint and d == "in"]
    assert [json.dumps(r["SourceSecurityGroupId"]) for r in endpoint_in] == [lb]

    (probe_out,) = [rule for group, d, rule in rules if group == "ProbeSecurityGroup" and d == "out"]
    assert json.dumps(probe_out["DestinationSecurityGroupId"]) == lb


@pytest.mark.parametrize("count", [1, 3, 8])
def test_each_client_cidr_gets_one_rule(count: int) -> None:
    cidrs = [f"10.{i}.0.0/16" for i in range(count)]
    r = render({"ClientCidrs": ",".join(cidrs)})
    rules = {k: v["Properties"]["CidrIp"] for k, v in r.resources.items() if k.startswith("ClientIngress")}
    assert rules == {f"ClientIngress{i + 1}": c for i, c in enumerate(cidrs)}
    assert "TooManyClientCidrsUseClientPrefixListId" not in r.resources


def test_a_ninth_client_cidr_fails_the_deploy_loudly() -> None:
    r = render({"ClientCidrs": ",".join(f"10.{i}.0.0/16" for i in range(9))})
    guard = r.resources["TooManyClientCidrsUseClientPrefixListId"]
    assert guard["Type"] == "AWS::CloudFormation::WaitCondition"
    assert guard["Properties"]["Handle"] == {"Ref": "TooManyClientCidrsHandle"}


def test_prefix_list_alone_may_admit_clients() -> None:
    r = render({"ClientCidrs": "", "ClientPrefixListId": "pl-0123456789abcdef0"})
    assert not [k for k in r.resources if re.fullmatch(r"ClientIngress\d", k)]
    assert r.props("ClientIngressPrefixList")["SourcePrefixListId"] == "pl-0123456789abcdef0"


# ---------------------------------------------------------------- conditional parts


def present(r: Rendered, names: list[str]) -> dict[str, bool]:
    return {n: n in r.resources for n in names}


@pytest.mark.parametrize("on", [False, True])
def test_cloudfront_parts_follow_enable_cloudfront(on: bool) -> None:
    r = render(CLOUDFRONT if on else {})
    assert present(r, CLOUDFRONT_ONLY) == {n: on for n in CLOUDFRONT_ONLY}
    assert ("CloudFrontUrl" in r.outputs) is on
    groups = r.props("ApplicationLoadBalancer")["SecurityGroups"]
    assert ({"Fn::GetAtt": ["CloudFrontOriginSecurityGroup", "GroupId"]} in groups) is on
    if on:
        assert r.outputs["CloudFrontUrl"]["Value"] == "https://api.example.com"


def test_cloudfront_reaches_the_alb_through_a_vpc_origin() -> None:
    r = render(CLOUDFRONT)
    origin = r.props("VpcOrigin")["VpcOriginEndpointConfig"]
    assert origin["Arn"] == {"Ref": "ApplicationLoadBalancer"}
    assert origin["OriginProtocolPolicy"] == "https-only"
    assert origin["OriginSSLProtocols"] == ["TLSv1.2"]
    config = r.props("Distribution")["DistributionConfig"]
    assert config["HttpVersion"] == "http2and3"
    assert config["Aliases"] == ["api.example.com"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["AcmCertificateArn"] == CLOUDFRONT["CloudFrontCertificateArn"]
    (o,) = config["Origins"]
    assert o["DomainName"] == BASE_PARAMS["DomainName"], "SNI and Host must be the ALB's and API's domain"
    assert o["VpcOriginConfig"]["VpcOriginId"] == {"Fn::GetAtt": ["VpcOrigin", "Id"]}
    # An origin takes one of S3OriginConfig, CustomOriginConfig and VpcOriginConfig.
    assert not {"S3OriginConfig", "CustomOriginConfig"} & set(o)
    assert origin["HTTPSPort"] == 443 and "CloudFrontListener" not in r.resources
    behavior = config["DefaultCacheBehavior"]
    assert behavior["TargetOriginId"] == o["Id"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    assert {"POST", "PUT", "DELETE"} <= set(behavior["AllowedMethods"])
    ingress = r.resources["CloudFrontIngress"]
    assert ingress["Type"] == "Custom::PrefixListIngress"
    assert ingress["DependsOn"] == "VpcOrigin"
    props = ingress["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["PrefixListIngressFunction", "Arn"]}
    assert (str(props["Port"]), props["Protocol"], props["VpcId"]) == ("443", "tcp", BASE_PARAMS["VpcId"])
    assert props["PrefixListName"] == "com.amazonaws.global.cloudfront.origin-facing"
    records = r.props("PublicRecords")
    assert records["HostedZoneId"] == CLOUDFRONT["PublicHostedZoneId"]
    assert {rs["Type"] for rs in records["RecordSets"]} == {"A", "AAAA"}
    for rs in records["RecordSets"]:
        assert rs["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["Distribution", "DomainName"]}


def test_with_mutual_tls_cloudfront_has_its_own_listener_on_8443() -> None:
    r = render(SCENARIOS["cloudfront-mtls"])
    main, own = r.props("AlbListener"), r.props("CloudFrontListener")
    assert main["Port"] == 443 and main["MutualAuthentication"]["Mode"] == "verify"
    assert own["LoadBalancerArn"] == main["LoadBalancerArn"] == {"Ref": "ApplicationLoadBalancer"}
    assert (own["Protocol"], own["Port"]) == ("HTTPS", 8443)
    assert (own["SslPolicy"], own["Certificates"]) == (main["SslPolicy"], main["Certificates"])
    assert own["MutualAuthentication"] == {"Mode": "off"}
    assert own["DefaultActions"] == main["DefaultActions"]
    assert r.props("VpcOrigin")["VpcOriginEndpointConfig"]["HTTPSPort"] == 8443
    assert int(r.props("CloudFrontIngress")["Port"]) == 8443
    # The group's description is the same on either port: a new one would replace the group.
    assert (
        r.props("CloudFrontOriginSecurityGroup")["GroupDescription"]
        == render(CLOUDFRONT).props("CloudFrontOriginSecurityGroup")["GroupDescription"]
    )
    (o,) = r.props("Distribution")["DistributionConfig"]["Origins"]
    assert set(o) == {"Id", "DomainName", "VpcOriginConfig"}
    # Without CloudFront, mutual TLS keeps one listener.
    assert "CloudFrontListener" not in render(MTLS).resources


@pytest.mark.parametrize("lb", ["ALB", "NLB"])
def test_load_balancer_parts_follow_load_balancer_type(lb: str) -> None:
    r = render({"LoadBalancerType": lb})
    assert present(r, ALB_ONLY) == {n: lb == "ALB" for n in ALB_ONLY}
    assert present(r, NLB_ONLY) == {n: lb == "NLB" for n in NLB_ONLY}
    lb_id = "ApplicationLoadBalancer" if lb == "ALB" else "NetworkLoadBalancer"
    assert r.outputs["LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": [lb_id, "DNSName"]}


@pytest.mark.parametrize("existing", [False, True])
def test_endpoint_parts_follow_existing_vpc_endpoint_id(existing: bool) -> None:
    r = render(EXISTING_ENDPOINT if existing else {})
    assert present(r, CREATED_ENDPOINT_ONLY) == {n: not existing for n in CREATED_ENDPOINT_ONLY}
    expected = EXISTING_ENDPOINT["ExistingVpcEndpointId"] if existing else {"Ref": "ExecuteApiEndpoint"}
    assert r.outputs["VpcEndpointId"]["Value"] == expected
    assert r.props("EndpointTargets")["VpcEndpointId"] == expected
    group = r.props("EndpointIngressFromLoadBalancer")["GroupId"]
    assert group == (
        EXISTING_ENDPOINT["ExistingVpcEndpointSecurityGroupId"]
        if existing
        else {"Fn::GetAtt": ["EndpointSecurityGroup", "GroupId"]}
    )
    if not existing:
        endpoint = r.props("ExecuteApiEndpoint")
        assert endpoint["ServiceName"] == f"com.amazonaws.{REGION}.execute-api"
        assert endpoint["VpcEndpointType"] == "Interface"
        assert endpoint["SubnetIds"] == r.params["SubnetIds"]


@pytest.mark.parametrize("sample", [True, False])
def test_api_parts_follow_create_sample_api(sample: bool) -> None:
    r = render({} if sample else OWN_API)
    assert present(r, SAMPLE_API_ONLY) == {n: sample for n in SAMPLE_API_ONLY}
    mapping = r.props("ApiBasePathMapping")
    assert mapping["DomainName"] == {"Ref": "ApiDomainName"}
    if sample:
        assert mapping["RestApiId"] == {"Ref": "SampleApi"}
        assert mapping["Stage"] == {"Ref": "SampleStage"}
    else:
        assert mapping["RestApiId"] == OWN_API["RestApiId"]
        assert mapping["Stage"] == OWN_API["StageName"]
    domain = r.props("ApiDomainName")
    assert domain["DomainName"] == BASE_PARAMS["DomainName"]
    assert domain["RegionalCertificateArn"] == BASE_PARAMS["CertificateArn"]
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


@pytest.mark.parametrize("name", ["alb", "existing-endpoint"])
def test_sample_api_is_private_and_invokable_only_through_the_endpoint(name: str) -> None:
    r = render(SCENARIOS[name])
    api = r.props("SampleApi")
    endpoint = r.props("EndpointTargets")["VpcEndpointId"]
    assert api["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": [endpoint]}
    (statement,) = api["Policy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceVpce": endpoint}}
    for method in ("SampleRootGet", "SampleHealthGet"):
        assert r.props(method)["Integration"]["Type"] == "MOCK"
    assert r.props("SampleHealthResource")["PathPart"] == r.params["HealthPath"].strip("/")


@pytest.mark.parametrize("uri", ["", MTLS["TrustStoreBundleS3Uri"]])
def test_trust_store_follows_trust_store_uri(uri: str) -> None:
    r = render(MTLS if uri else {})
    assert ("TrustStore" in r.resources) is bool(uri)
    # Off is said: a listener whose MutualAuthentication is removed keeps verifying (issue 22).
    assert r.props("AlbListener")["MutualAuthentication"]["Mode"] == ("verify" if uri else "off")


def test_optional_extras_appear_with_their_parameters() -> None:
    plain = render({})
    full = render(SCENARIOS["everything"])
    # Each option's off value is said, never left out, so that turning it off resets it (issue 22).
    assert plain.props("HealthProbeFunction")["Layers"] == []
    assert full.props("HealthProbeFunction")["Layers"] == ["arn:aws:lambda:eu-west-1:123456789012:layer:private-ca:3"]
    assert render(CLOUDFRONT).props("Distribution")["DistributionConfig"]["WebACLId"] == ""
    assert (
        full.props("Distribution")["DistributionConfig"]["WebACLId"] == SCENARIOS["everything"]["CloudFrontWebAclArn"]
    )
    attrs = {a["Key"]: a["Value"] for a in full.props("ApplicationLoadBalancer")["LoadBalancerAttributes"]}
    assert attrs["access_logs.s3.enabled"] == "true" and attrs["access_logs.s3.bucket"] == "frontdoor-logs"
    plain_attrs = {a["Key"]: a["Value"] for a in plain.props("ApplicationLoadBalancer")["LoadBalancerAttributes"]}
    assert plain_attrs["access_logs.s3.enabled"] == "false"
    assert plain_attrs["access_logs.s3.bucket"] == plain_attrs["access_logs.s3.prefix"] == ""


def test_outputs_name_the_front_door(scenario: Rendered) -> None:
    for name in ("LoadBalancerDnsName", "CustomDomainUrl", "VpcEndpointId", "HealthCheckId"):
        assert name in scenario.outputs
    assert scenario.outputs["CustomDomainUrl"]["Value"] == f"https://{scenario.params['DomainName']}"
    assert scenario.outputs["HealthCheckId"]["Value"] == {"Ref": RECORD_CHECK[scenario.params["HealthSignal"]]}
    assert ("CloudFrontUrl" in scenario.outputs) is (scenario.params["EnableCloudFront"] == "true")
    # frontdoor status and drill invoke health-probe to see the answer inside the VPC (issue 23).
    assert scenario.outputs["ObserverFunctionName"]["Value"] == {"Ref": "HealthProbeFunction"}


# ---------------------------------------------------------------- parameters and rules


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_passes_the_rules(name: str) -> None:
    assert rule_failures(SCENARIOS[name]) == []


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({**CLOUDFRONT, "LoadBalancerType": "NLB"}, "LoadBalancerType to ALB"),
        ({**CLOUDFRONT, "CloudFrontCertificateArn": ""}, "CloudFrontCertificateArn"),
        ({"ExistingVpcEndpointId": "vpce-0123456789abcdef0"}, "needs ExistingVpcEndpointSecurityGroupId"),
        ({**EXISTING_ENDPOINT, **MTLS}, "needs the stack's own execute-api endpoint"),
        ({"ClientCidrs": ""}, "ClientCidrs (no empty entries) or ClientPrefixListId"),
        ({"ExistingVpcEndpointSecurityGroupId": "sg-0123456789abcdef0"}, "goes with ExistingVpcEndpointId"),
        ({"TrustStoreBundleS3Uri": MTLS["TrustStoreBundleS3Uri"]}, "ProbeClientCertificateSecretArn"),
        (
            {"SecretsManagerEndpointSecurityGroupId": "sg-0123456789abcdef0"},
            "goes with ProbeClientCertificateSecretArn",
        ),
        ({"CreateSampleApi": "false"}, "RestApiId"),
        ({"ProbeCaLayerArn": "arn:aws:lambda:eu-west-1:123456789012:layer:ca:1"}, "ProbeCaBundle"),
        ({"OnPremisesHostname": ONPREM["OnPremisesHostname"]}, "needs OnPremisesCidrs"),
        ({**ONPREM, "OnPremisesCidrs": "10.20.0.0/16,"}, "needs OnPremisesCidrs"),
        ({"OnPremisesCidrs": ONPREM["OnPremisesCidrs"]}, "OnPremisesCidrs goes with OnPremisesHostname"),
        ({"OnPremisesDnsServer": "10.0.0.2:53"}, "OnPremisesDnsServer goes with OnPremisesHostname"),
    ],
)
def test_rules_refuse_inconsistent_parameters(overrides: dict[str, str], reason: str) -> None:
    failures = rule_failures(overrides)
    assert any(reason in f for f in failures), failures


@pytest.mark.parametrize(
    "name,value",
    [
        ("DomainName", "API.Example.com"),
        ("CertificateArn", "arn:aws:iam::123456789012:server-certificate/x"),
        (
            "CloudFrontCertificateArn",
            "arn:aws:acm:eu-west-1:123456789012:certificate/66666666-7777-8888-9999-000000000000",
        ),
        ("ClientCidrs", "10.0.0.0/8, 192.168.0.0/16"),
        ("ExistingVpcEndpointId", "vpc-0123456789abcdef0"),
        ("HealthPath", "health"),
        ("TrustStoreBundleS3Uri", "https://bucket/key.pem"),
        ("FailoverRole", "TERTIARY"),
        ("OnPremisesHostname", "Inventory.Corp.example.com"),
        ("OnPremisesHostname", "https://inventory.corp.example.com"),
        ("OnPremisesPort", "0"),
        ("OnPremisesPort", "65536"),
        ("OnPremisesProtocol", "TCP"),
        ("OnPremisesCidrs", "10.20.0.0/16, 172.16.8.0/24"),
        ("OnPremisesDnsServer", "10.0.0.2"),
        ("OnPremisesDnsServer", "dns.corp.example.com:53"),
        ("PrivateSubnetsHaveNat", "yes"),
        ("IpAddressType", "ipv6"),
    ],
)
def test_parameter_constraints_refuse_malformed_values(name: str, value: str) -> None:
    with pytest.raises(TemplateError):
        render({name: value})


def samconfig_parameters(env_name: str) -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config[env_name]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in overrides)


@pytest.mark.parametrize("env_name", ["default", "dev", "prod"])
def test_samconfig_environments_are_valid_and_deletable(env_name: str) -> None:
    values = samconfig_parameters(env_name)
    overrides = {k: v for k, v in values.items()}
    assert values["EnableDeletionProtection"] == "false", "sam delete must work with the sample parameters"
    assert rule_failures(overrides) == []
    r = render(overrides)
    assert "EndpointTargets" in r.resources
    for lb in ("ApplicationLoadBalancer", "NetworkLoadBalancer"):
        if lb in r.resources:
            attrs = {a["Key"]: a["Value"] for a in r.props(lb)["LoadBalancerAttributes"]}
            assert attrs["deletion_protection.enabled"] == "false"


# ---------------------------------------------------------------- on-premises services (seed 003)

ONPREM_ONLY = [
    "OnPremisesLoadBalancerSecurityGroup",
    "OnPremisesLoadBalancer",
    "OnPremisesTargetGroup",
    "OnPremisesListener",
    "OnPremisesVpcLink",
    "TargetSyncSecurityGroup",
]
ONPREM_SAMPLE_ONLY = [
    "SampleOnPremisesResource",
    "SampleOnPremisesProxyResource",
    "SampleOnPremisesAny",
    "SampleOnPremisesProxyAny",
    "SampleOnPremisesDeployment",
]
AWS_API_ENDPOINTS_ONLY = [
    "AwsApiEndpointSecurityGroup",
    "Ec2ApiEndpoint",
    "ElbApiEndpoint",
    "TargetSyncEgressToAwsApiEndpoints",
]
ONPREM_SCENARIOS = sorted(n for n, o in SCENARIOS.items() if o.get("OnPremisesHostname"))
TARGET_SYNC_GROUP = {"Fn::GetAtt": ["TargetSyncSecurityGroup", "GroupId"]}


def test_on_premises_is_in_several_scenarios() -> None:
    assert {"onprem", "onprem-nat", "onprem-dns-server-nlb", "onprem-own-api", "everything"} <= set(ONPREM_SCENARIOS)


@pytest.mark.parametrize("on", [False, True])
def test_on_premises_parts_follow_on_premises_hostname(on: bool) -> None:
    r = render(ONPREM if on else {})
    assert present(r, ONPREM_ONLY + ONPREM_SAMPLE_ONLY) == {n: on for n in ONPREM_ONLY + ONPREM_SAMPLE_ONLY}
    # One sample deployment or the other: each is the snapshot of its set of methods.
    assert ("SampleDeployment" in r.resources) is not on
    expected = {"Ref": "SampleOnPremisesDeployment" if on else "SampleDeployment"}
    assert r.props("SampleStage")["DeploymentId"] == expected
    outputs = {"OnPremisesVpcLinkId", "OnPremisesTargetGroupArn"}
    assert outputs & set(r.outputs) == (outputs if on else set())


@pytest.mark.parametrize("name", ONPREM_SCENARIOS)
def test_hostname_binding_names_the_on_premises_listeners_target_group_and_port(name: str) -> None:
    r = render(SCENARIOS[name])
    bindings = parse_bindings(env(r, "TargetSyncFunction")["FRONTDOOR_BINDINGS"])
    assert len(bindings) == 2
    hostname = bindings[1]
    assert set(hostname) == {"hostname", "targetGroupArns", "port"}
    assert hostname["hostname"] == r.params["OnPremisesHostname"]
    listener = r.props("OnPremisesListener")
    (action,) = listener["DefaultActions"]
    assert action["Type"] == "forward"
    assert hostname["targetGroupArns"] == [action["TargetGroupArn"]] == [{"Ref": "OnPremisesTargetGroup"}]
    group = r.props("OnPremisesTargetGroup")
    port = int(r.params["OnPremisesPort"])
    assert hostname["port"] == int(listener["Port"]) == int(group["Port"]) == port
    assert (listener["Protocol"], group["Protocol"]) == ("TCP", "TCP")
    # IP targets (target-sync's, AvailabilityZone all), none static, IPv4 like the on-premises addresses.
    assert (group["TargetType"], group["IpAddressType"], group["VpcId"]) == ("ip", "ipv4", r.params["VpcId"])
    assert "Targets" not in group
    assert group["HealthCheckProtocol"] == "TCP"
    assert {"Key": "frontdoor:stack", "Value": STACK_ID} in group["Tags"]


@pytest.mark.parametrize("name", ONPREM_SCENARIOS)
def test_vpc_link_names_the_internal_on_premises_nlb(name: str) -> None:
    r = render(SCENARIOS[name])
    nlb = {"Ref": "OnPremisesLoadBalancer"}
    assert r.props("OnPremisesVpcLink")["TargetArns"] == [nlb]
    assert r.props("OnPremisesListener")["LoadBalancerArn"] == nlb
    lb = r.props("OnPremisesLoadBalancer")
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"]) == ("network", "internal", "ipv4")
    assert lb["Subnets"] == r.params["SubnetIds"]
    assert lb["SecurityGroups"] == [{"Fn::GetAtt": ["OnPremisesLoadBalancerSecurityGroup", "GroupId"]}]
    # The VPC link arrives over PrivateLink from API Gateway's own addresses.
    assert lb["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off"
    assert {"Key": "frontdoor:stack", "Value": STACK_ID} in lb["Tags"]
    assert r.outputs["OnPremisesVpcLinkId"]["Value"] == {"Ref": "OnPremisesVpcLink"}


@pytest.mark.parametrize("name", ["onprem", "onprem-nat", "onprem-dns-server-nlb", "everything"])
def test_on_premises_route_proxies_over_the_vpc_link_to_the_hostname_and_port(name: str) -> None:
    r = render(SCENARIOS[name])
    p = r.params
    if not r.conditions["MakeSampleApi"]:
        assert not set(ONPREM_SAMPLE_ONLY) & set(r.resources), "no sample route on your own API"
        return
    base = f"{p['OnPremisesProtocol'].lower()}://{p['OnPremisesHostname']}:{p['OnPremisesPort']}/"
    assert r.props("SampleOnPremisesResource")["PathPart"] == "onprem"
    assert r.props("SampleOnPremisesResource")["ParentId"] == {"Fn::GetAtt": ["SampleApi", "RootResourceId"]}
    proxy_resource = r.props("SampleOnPremisesProxyResource")
    assert (proxy_resource["PathPart"], proxy_resource["ParentId"]) == ("{proxy+}", {"Ref": "SampleOnPremisesResource"})
    for method, resource, uri in (
        ("SampleOnPremisesAny", "SampleOnPremisesResource", base),
        ("SampleOnPremisesProxyAny", "SampleOnPremisesProxyResource", base + "{proxy}"),
    ):
        m = r.props(method)
        assert m["RestApiId"] == {"Ref": "SampleApi"} and m["ResourceId"] == {"Ref": resource}
        assert m["HttpMethod"] == "ANY"
        # Authorization as the other sample methods: the private API's resource policy.
        assert m["AuthorizationType"] == r.props("SampleRootGet")["AuthorizationType"]
        integration = m["Integration"]
        assert (integration["Type"], integration["IntegrationHttpMethod"]) == ("HTTP_PROXY", "ANY")
        assert integration["ConnectionType"] == "VPC_LINK"
        assert integration["ConnectionId"] == {"Ref": "OnPremisesVpcLink"}
        assert integration["Uri"] == uri
    proxy = r.props("SampleOnPremisesProxyAny")
    assert proxy["RequestParameters"] == {"method.request.path.proxy": True}
    assert proxy["Integration"]["RequestParameters"] == {"integration.request.path.proxy": "method.request.path.proxy"}
    # The stage's deployment is taken after every method, the on-premises ones included.
    deployment = r.resources["SampleOnPremisesDeployment"]
    assert set(deployment["DependsOn"]) == {m for m, v in r.of_type("AWS::ApiGateway::Method").items()}
    assert r.props("SampleStage")["DeploymentId"] == {"Ref": "SampleOnPremisesDeployment"}


def test_without_on_premises_the_deployment_waits_for_every_method() -> None:
    r = render({})
    assert set(r.resources["SampleDeployment"]["DependsOn"]) == set(r.of_type("AWS::ApiGateway::Method"))


def rules_of(r: Rendered, group: str) -> dict[str, list[dict[str, Any]]]:
    """A group's rules by direction, inline and standalone."""
    keys = {group, group_id(group)}
    out: dict[str, list[dict[str, Any]]] = {"in": [], "out": []}
    for g, direction, rule in group_rules(r):
        if g in keys:
            out[direction].append(rule)
    return out


@pytest.mark.parametrize("count", [1, 3, 8])
def test_on_premises_nlb_sends_only_to_the_on_premises_cidrs_on_the_port(count: int) -> None:
    cidrs = [f"10.{i}.0.0/16" for i in range(count)]
    r = render({**ONPREM, "OnPremisesCidrs": ",".join(cidrs)})
    rules = rules_of(r, "OnPremisesLoadBalancerSecurityGroup")
    # No inbound rule: only PrivateLink traffic (the VPC link) reaches it.
    assert rules["in"] == []
    # The inline rule replaces the default allow-all egress, and allows nothing.
    assert [is_no_egress(rule) for rule in r.props("OnPremisesLoadBalancerSecurityGroup")["SecurityGroupEgress"]] == [
        True
    ]
    port = int(ONPREM["OnPremisesPort"])
    opened = [rule for rule in rules["out"] if not is_no_egress(rule)]
    assert sorted(
        (rule["CidrIp"], rule["IpProtocol"], int(rule["FromPort"]), int(rule["ToPort"])) for rule in opened
    ) == sorted((c, "tcp", port, port) for c in cidrs)
    for rule in opened:
        assert set(rule) == {"Description", "GroupId", "CidrIp", "IpProtocol", "FromPort", "ToPort"}
    assert "TooManyOnPremisesCidrsAtMostEight" not in r.resources


def test_a_ninth_on_premises_cidr_fails_the_deploy_loudly() -> None:
    r = render({**ONPREM, "OnPremisesCidrs": ",".join(f"10.{i}.0.0/16" for i in range(9))})
    guard = r.resources["TooManyOnPremisesCidrsAtMostEight"]
    assert guard["Type"] == "AWS::CloudFormation::WaitCondition"
    assert guard["Properties"]["Handle"] == {"Ref": "TooManyOnPremisesCidrsHandle"}


def test_on_premises_nlb_group_never_allows_all_egress(scenario: Rendered) -> None:
    if "OnPremisesLoadBalancerSecurityGroup" not in scenario.resources:
        return
    for rule in rules_of(scenario, "OnPremisesLoadBalancerSecurityGroup")["out"]:
        if is_no_egress(rule):
            continue
        assert rule["IpProtocol"] == "tcp" and rule["CidrIp"] in scenario.params["OnPremisesCidrs"], rule


def expected_target_sync_egress(r: Rendered) -> list[str]:
    p = r.params
    # The inline rule replaces the default allow-all egress; the others open what target-sync needs.
    out = [json.dumps({"CidrIp": "127.0.0.1/32", "IpProtocol": "-1"})]
    if p["PrivateSubnetsHaveNat"] == "true":
        out.append(json.dumps({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}))
    else:
        endpoints = {"Fn::GetAtt": ["AwsApiEndpointSecurityGroup", "GroupId"]}
        out.append(
            json.dumps({"DestinationSecurityGroupId": endpoints, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
        )
    if p["OnPremisesDnsServer"]:
        ip, port = p["OnPremisesDnsServer"].split(":")
        # UDP, and TCP for the truncated answers that target-sync's DNS client asks again over TCP.
        for protocol in ("udp", "tcp"):
            out.append(
                json.dumps({"CidrIp": f"{ip}/32", "IpProtocol": protocol, "FromPort": int(port), "ToPort": int(port)})
            )
    return sorted(out)


def test_target_sync_group_reaches_only_the_aws_apis_and_the_dns_server(scenario: Rendered) -> None:
    if not scenario.params["OnPremisesHostname"]:
        assert "TargetSyncSecurityGroup" not in scenario.resources
        return
    rules = rules_of(scenario, "TargetSyncSecurityGroup")
    assert rules["in"] == []
    keys = ("CidrIp", "DestinationSecurityGroupId", "IpProtocol", "FromPort", "ToPort")

    def shape(rule: dict[str, Any]) -> str:
        return json.dumps({k: (int(rule[k]) if k.endswith("Port") else rule[k]) for k in keys if k in rule})

    assert sorted(shape(rule) for rule in rules["out"]) == expected_target_sync_egress(scenario)


@pytest.mark.parametrize("nat", ["false", "true", None])
def test_aws_api_endpoints_exist_iff_on_premises_without_nat(nat: str | None) -> None:
    r = render({} if nat is None else {**ONPREM, "PrivateSubnetsHaveNat": nat})
    expected = nat == "false"
    assert present(r, AWS_API_ENDPOINTS_ONLY) == {n: expected for n in AWS_API_ENDPOINTS_ONLY}
    if not expected:
        return
    group = {"Fn::GetAtt": ["AwsApiEndpointSecurityGroup", "GroupId"]}
    for endpoint, service in (("Ec2ApiEndpoint", "ec2"), ("ElbApiEndpoint", "elasticloadbalancing")):
        e = r.props(endpoint)
        assert e["ServiceName"] == f"com.amazonaws.{REGION}.{service}"
        assert e["VpcEndpointType"] == "Interface"
        # Serves target-sync only: private DNS would take the API's name over for the whole VPC.
        assert e["PrivateDnsEnabled"] is False
        assert (e["VpcId"], e["SubnetIds"], e["SecurityGroupIds"]) == (
            r.params["VpcId"],
            r.params["SubnetIds"],
            [group],
        )
    rules = rules_of(r, "AwsApiEndpointSecurityGroup")
    assert [(x["SourceSecurityGroupId"], x["IpProtocol"], x["FromPort"], x["ToPort"]) for x in rules["in"]] == [
        (TARGET_SYNC_GROUP, "tcp", 443, 443)
    ]
    assert [is_no_egress(x) for x in rules["out"]] == [True]


def test_target_sync_runs_in_the_vpc_iff_on_premises(scenario: Rendered) -> None:
    fn = scenario.props("TargetSyncFunction")
    role = scenario.props("TargetSyncRole")
    if scenario.conditions["HasOnPremises"]:
        assert fn["VpcConfig"] == {"SubnetIds": scenario.params["SubnetIds"], "SecurityGroupIds": [TARGET_SYNC_GROUP]}
    else:
        # Detached is said with empty lists: a removed VpcConfig is not a detach (issue 22).
        assert fn["VpcConfig"] == {"SubnetIds": [], "SecurityGroupIds": []}
    # Lambda creates and deletes the function's network interfaces with the execution role, so the
    # role keeps VPC access whatever the option: it must never change in the same update (issue 22).
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]


def test_dns_settings_follow_their_parameters(scenario: Rendered) -> None:
    e = env(scenario, "TargetSyncFunction")
    # Unset, never empty, without a server: target-sync reads an empty value as a bad ip:port.
    server = scenario.params["OnPremisesDnsServer"]
    assert e.get("FRONTDOOR_DNS_SERVER") == (server or None)
    assert e.get("FRONTDOOR_DNS_GRACE_RUNS") == ("3" if scenario.params["OnPremisesHostname"] else None)


def test_dns_server_scenario_sets_the_server() -> None:
    e = env(render(SCENARIOS["onprem-dns-server-nlb"]), "TargetSyncFunction")
    assert e["FRONTDOOR_DNS_SERVER"] == "10.0.0.10:5353"


# ---------------------------------------------------------------- dual stack


@pytest.mark.parametrize("lb", ["ALB", "NLB"])
@pytest.mark.parametrize("address_type", ["ipv4", "dualstack"])
def test_load_balancer_ip_address_type_follows_the_parameter(lb: str, address_type: str) -> None:
    r = render({**ONPREM, "LoadBalancerType": lb, "IpAddressType": address_type})
    lb_id = "ApplicationLoadBalancer" if lb == "ALB" else "NetworkLoadBalancer"
    assert r.props(lb_id)["IpAddressType"] == address_type
    # Targets stay IPv4: the endpoint's IPv4 ENI addresses, and the on-premises addresses.
    assert r.props("ApiTargetGroup")["IpAddressType"] == "ipv4"
    assert r.props("OnPremisesTargetGroup")["IpAddressType"] == "ipv4"
    assert r.props("OnPremisesLoadBalancer")["IpAddressType"] == "ipv4"
    # IPv6 clients find a dual-stack load balancer through an AAAA twin of the A record.
    assert ("PrivateRecordIpv6" in r.resources) is (address_type == "dualstack")
    if address_type == "dualstack":
        a, aaaa = r.props("PrivateRecord"), r.props("PrivateRecordIpv6")
        assert (a["Type"], aaaa["Type"]) == ("A", "AAAA")
        assert {k: v for k, v in aaaa.items() if k != "Type"} == {k: v for k, v in a.items() if k != "Type"}


def test_dual_stack_failover_records_share_the_health_check() -> None:
    r = render(SCENARIOS["dualstack-nlb-primary"])
    aaaa = r.props("PrivateRecordIpv6")
    assert aaaa["Failover"] == "PRIMARY" and aaaa["HealthCheckId"] == {"Ref": "HealthCheck"}
    assert aaaa["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["NetworkLoadBalancer", "DNSName"]}


# ---------------------------------------------------------------- health signals (docs/health-signals.md)

CHECKS_OF_SIGNAL = {
    "probe": {"HealthCheck"},
    "route53": {"PrivateHealthCheck"},
    "both": {"HealthCheck", "PrivateHealthCheck", "CombinedHealthCheck"},
}
EXISTING_SOURCE_ONLY = {"HealthCheckSourceId", "HealthCheckSourceSecurityGroupId"}
SIGNAL_PARAMS = {
    "probe": {},
    "route53": ROUTE53_NEW_SOURCE,
    "both": BOTH_EXISTING_SOURCE,
    "route53-existing": {**BOTH_EXISTING_SOURCE, "HealthSignal": "route53"},
    "both-new": {**ROUTE53_NEW_SOURCE, "HealthSignal": "both"},
}


def test_health_signal_scenarios_cover_each_signal_and_source() -> None:
    signals = {(s.get("HealthSignal", "probe"), bool(s.get("HealthCheckSourceId"))) for s in SCENARIOS.values()}
    assert {("probe", False), ("route53", False), ("both", True)} <= signals


def test_health_checks_follow_health_signal(scenario: Rendered) -> None:
    signal = scenario.params["HealthSignal"]
    assert set(scenario.of_type("AWS::Route53::HealthCheck")) == CHECKS_OF_SIGNAL[signal]
    # The probe and its alarm stay in every mode: their metrics are useful whatever drives the records.
    assert {"HealthProbeFunction", "HealthAlarm"} <= set(scenario.resources)


def test_health_check_source_is_created_only_without_an_id(scenario: Rendered) -> None:
    p = scenario.params
    creates = p["HealthSignal"] != "probe" and not p["HealthCheckSourceId"]
    for logical_id in ("HealthCheckSource", "HealthCheckSourceSecurityGroup"):
        assert (logical_id in scenario.resources) is creates, logical_id
    existing = p["HealthSignal"] != "probe" and bool(p["HealthCheckSourceId"])
    assert ("ExistingHealthCheckSourceEgressToLoadBalancer" in scenario.resources) is existing


@pytest.mark.parametrize("name", sorted(SIGNAL_PARAMS))
@pytest.mark.parametrize("lb", ["ALB", "NLB"])
def test_private_check_is_https_443_from_the_source_on_this_regions_load_balancer(name: str, lb: str) -> None:
    r = render({**SIGNAL_PARAMS[name], "LoadBalancerType": lb, "FailoverRole": "PRIMARY"})
    if r.params["HealthSignal"] == "probe":
        assert "PrivateHealthCheck" not in r.resources
        return
    lb_id = "ApplicationLoadBalancer" if lb == "ALB" else "NetworkLoadBalancer"
    check = r.props("PrivateHealthCheck")
    config = check["HealthCheckConfig"]
    source = (
        r.params["HealthCheckSourceId"]
        if r.params["HealthCheckSourceId"]
        else {"Fn::GetAtt": ["HealthCheckSource", "HealthCheckSourceId"]}
    )
    assert config == {
        "Type": "HTTPS",
        "EndpointType": "PRIVATE",
        "HealthCheckSourceId": source,
        # This Region's load balancer by its own name (Route 53 resolves it every interval): never
        # DomainName, the failover records' own name, nor a pinned IPAddress.
        "FullyQualifiedDomainName": {"Fn::GetAtt": [lb_id, "DNSName"]},
        "Port": 443,
        # Host is the load balancer's name, which API Gateway has no custom domain for: /ping is the
        # endpoint's own answer, as in the target group's health check.
        "ResourcePath": "/ping",
        "EnableSNI": True,
        "RequestInterval": 30,
        "FailureThreshold": 3,
    }
    assert "IPAddress" not in config
    assert config["ResourcePath"] == r.props("ApiTargetGroup")["HealthCheckPath"]
    assert r.resources["PrivateHealthCheck"]["DependsOn"] == "LoadBalancerIngressFromHealthCheckSource"
    assert check["HealthCheckTags"] == [
        {"Key": "Name", "Value": f"{BASE_PARAMS['DomainName']} {REGION} load balancer (Route 53 private check)"}
    ]


def test_calculated_check_needs_both_children() -> None:
    r = render(BOTH_EXISTING_SOURCE)
    check = r.props("CombinedHealthCheck")
    assert check["HealthCheckConfig"] == {
        "Type": "CALCULATED",
        "ChildHealthChecks": [{"Ref": "HealthCheck"}, {"Ref": "PrivateHealthCheck"}],
        "HealthThreshold": 2,
    }
    assert check["HealthCheckTags"] == [
        {"Key": "Name", "Value": f"{BASE_PARAMS['DomainName']} {REGION} probe and load balancer"}
    ]


# Route 53's HTTPS checks need TLS 1.0 to 1.2 on the endpoint
# (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html, Type): a
# TLS 1.3-only policy on the listener would make the private check fail for ever.
@pytest.mark.parametrize("lb", ["ALB", "NLB"])
def test_the_listener_the_private_check_reaches_speaks_tls_1_2(lb: str) -> None:
    r = render({**ROUTE53_NEW_SOURCE, "LoadBalancerType": lb})
    listener = r.props("AlbListener" if lb == "ALB" else "NlbListener")
    assert listener["Port"] == r.props("PrivateHealthCheck")["HealthCheckConfig"]["Port"] == 443
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06", "TLS 1.3 and 1.2"


@pytest.mark.parametrize("name", sorted(SIGNAL_PARAMS))
@pytest.mark.parametrize("role", ["NONE", "PRIMARY", "SECONDARY"])
def test_records_use_the_check_of_the_health_signal(name: str, role: str) -> None:
    r = render({**SIGNAL_PARAMS[name], "FailoverRole": role, "IpAddressType": "dualstack"})
    expected = RECORD_CHECK[r.params["HealthSignal"]]
    for record in ("PrivateRecord", "PrivateRecordIpv6"):
        props = r.props(record)
        if role == "NONE":
            assert "HealthCheckId" not in props
        else:
            assert props["HealthCheckId"] == {"Ref": expected}
    assert r.outputs["HealthCheckId"]["Value"] == {"Ref": expected}


@pytest.mark.parametrize("subnets", [2, 3])
def test_created_source_has_one_subnet_per_zone_with_its_own_group(subnets: int) -> None:
    ids = [f"subnet-0aaaaaaaaaaaaaaa{i}" for i in range(1, subnets + 1)]
    zones = [f"usw1-az{i}" for i in range(1, subnets + 1)]
    r = render(
        {
            "HealthSignal": "route53",
            "HealthCheckSourceSubnetIds": ",".join(ids),
            "HealthCheckSourceAvailabilityZoneIds": ",".join(zones),
        }
    )
    group = {"Fn::GetAtt": ["HealthCheckSourceSecurityGroup", "GroupId"]}
    assert r.props("HealthCheckSource")["HealthCheckSourceConfig"] == {
        "VpcId": BASE_PARAMS["VpcId"],
        "SubnetConfigurationList": [
            {"SubnetId": s, "AvailabilityZoneId": z, "SecurityGroupIdList": [group]}
            for s, z in zip(ids, zones, strict=True)
        ],
    }
    assert {"Key": "Name", "Value": f"frontdoor-test {REGION}"} in r.props("HealthCheckSource")["Tags"]
    (out,) = r.props("HealthCheckSourceSecurityGroup")["SecurityGroupEgress"]
    assert out["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert "SecurityGroupIngress" not in r.props("HealthCheckSourceSecurityGroup")


@pytest.mark.parametrize("name", ["route53", "both", "route53-existing", "both-new"])
def test_load_balancer_admits_the_health_check_source_on_443(name: str) -> None:
    r = render(SIGNAL_PARAMS[name])
    ingress = r.props("LoadBalancerIngressFromHealthCheckSource")
    assert ingress["GroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert ingress["SourceSecurityGroupId"] == health_check_source_group(r)
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    if r.params["HealthCheckSourceId"]:
        egress = r.props("ExistingHealthCheckSourceEgressToLoadBalancer")
        assert egress["GroupId"] == r.params["HealthCheckSourceSecurityGroupId"]
        assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
        assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_probe_signal_opens_nothing_to_route_53() -> None:
    r = render({})
    for logical_id in (
        "LoadBalancerIngressFromHealthCheckSource",
        "ExistingHealthCheckSourceEgressToLoadBalancer",
        "HealthCheckSourceSecurityGroup",
    ):
        assert logical_id not in r.resources


def test_health_signal_outputs(scenario: Rendered) -> None:
    p, outputs = scenario.params, scenario.outputs
    signal = p["HealthSignal"]
    assert outputs["LoadBalancerSecurityGroupId"]["Value"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert ("ProbeHealthCheckId" in outputs) is (signal != "route53")
    assert ("PrivateHealthCheckId" in outputs) is (signal != "probe")
    assert ("HealthCheckSourceId" in outputs) is (signal != "probe")
    if signal != "route53":
        assert outputs["ProbeHealthCheckId"]["Value"] == {"Ref": "HealthCheck"}
    if signal != "probe":
        assert outputs["PrivateHealthCheckId"]["Value"] == {"Ref": "PrivateHealthCheck"}
        source = outputs["HealthCheckSourceId"]["Value"]
        if p["HealthCheckSourceId"]:
            assert source == p["HealthCheckSourceId"]
        else:
            assert source == {"Fn::GetAtt": ["HealthCheckSource", "HealthCheckSourceId"]}
    cloudfront = "CloudFrontOriginSecurityGroupId" in outputs
    assert cloudfront is (p["EnableCloudFront"] == "true")
    if cloudfront:
        assert outputs["CloudFrontOriginSecurityGroupId"]["Value"] == {
            "Fn::GetAtt": ["CloudFrontOriginSecurityGroup", "GroupId"]
        }


def test_new_parameters_are_in_the_console_groups() -> None:
    groups = raw_template()["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for g in groups for name in g["Parameters"]]
    assert sorted(grouped) == sorted(raw_template()["Parameters"])
    (health,) = [g for g in groups if g["Label"]["default"] == "Health and failover"]
    for name in (
        "HealthSignal",
        "HealthCheckSourceId",
        "HealthCheckSourceSecurityGroupId",
        "HealthCheckSourceSubnetIds",
        "HealthCheckSourceAvailabilityZoneIds",
    ):
        assert name in health["Parameters"]


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"HealthSignal": "route53"}, "needs HealthCheckSourceId (an existing source) or HealthCheckSourceSubnetIds"),
        ({"HealthSignal": "both"}, "needs HealthCheckSourceId (an existing source) or HealthCheckSourceSubnetIds"),
        ({**ROUTE53_NEW_SOURCE, **MTLS}, "cannot pass mutual TLS"),
        ({**BOTH_EXISTING_SOURCE, **MTLS, "LoadBalancerType": "NLB"}, "cannot pass mutual TLS"),
        ({**BOTH_EXISTING_SOURCE, "HealthSignal": "probe"}, "HealthCheckSourceId goes with HealthSignal"),
        ({**ROUTE53_NEW_SOURCE, "HealthSignal": "probe"}, "HealthCheckSourceSubnetIds goes with HealthSignal"),
        (
            {**BOTH_EXISTING_SOURCE, "HealthCheckSourceSecurityGroupId": ""},
            "HealthCheckSourceId needs HealthCheckSourceSecurityGroupId",
        ),
        (
            {**BOTH_EXISTING_SOURCE, "HealthCheckSourceSubnetIds": ROUTE53_NEW_SOURCE["HealthCheckSourceSubnetIds"]},
            "leave it empty with HealthCheckSourceId",
        ),
        (
            {
                **BOTH_EXISTING_SOURCE,
                "HealthCheckSourceAvailabilityZoneIds": ROUTE53_NEW_SOURCE["HealthCheckSourceAvailabilityZoneIds"],
            },
            "goes with HealthCheckSourceSubnetIds, not with HealthCheckSourceId",
        ),
        (
            {**ROUTE53_NEW_SOURCE, "HealthCheckSourceSecurityGroupId": "sg-0bbbbbbbbbbbbbbb1"},
            "HealthCheckSourceSecurityGroupId goes with HealthCheckSourceId",
        ),
        (
            {**ROUTE53_NEW_SOURCE, "HealthCheckSourceAvailabilityZoneIds": ""},
            "HealthCheckSourceSubnetIds needs HealthCheckSourceAvailabilityZoneIds",
        ),
        (
            {"HealthCheckSourceAvailabilityZoneIds": "euw1-az1,euw1-az2,euw1-az3"},
            "HealthCheckSourceAvailabilityZoneIds goes with HealthCheckSourceSubnetIds",
        ),
    ],
)
def test_rules_refuse_bad_health_signal_combinations(overrides: dict[str, str], reason: str) -> None:
    failures = rule_failures(overrides)
    assert any(reason in f for f in failures), failures


@pytest.mark.parametrize("name", sorted(SIGNAL_PARAMS))
def test_valid_health_signal_settings_pass_the_rules(name: str) -> None:
    assert rule_failures(SIGNAL_PARAMS[name]) == []


@pytest.mark.parametrize(
    "name,value",
    [
        ("HealthSignal", "alarm"),
        ("HealthCheckSourceSubnetIds", "subnet-1,subnet-2"),
        ("HealthCheckSourceAvailabilityZoneIds", "eu-west-1a,eu-west-1b,eu-west-1c"),
        ("HealthCheckSourceSecurityGroupId", "default"),
    ],
)
def test_health_signal_parameter_constraints(name: str, value: str) -> None:
    with pytest.raises(TemplateError):
        render({name: value})
