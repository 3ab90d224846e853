"""Invariants of issue 12 that lint cannot see, on the rendered template of every topology.

- The probe measures this Region's load balancer, never the failover record.
- A listener that verifies client certificates has one for each client the stack runs, by the
  port each client connects to; CloudFront (VPC origin) presents none, so its listener does not
  verify, and only CloudFront can reach that listener.
- Each function's role allows every call its code makes (crates/frontdoor/src/permissions.rs)
  on every resource the stack can hand it across an update, the replaced one included;
  each statement passes parliament (the Service Authorization Reference, offline).
- CloudFront is documented as one Region, never as failed over by Route 53.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any
from urllib.parse import urlsplit

from parliament import analyze_policy_string

from render import ACCOUNT, REGION, ROOT, STACK, Rendered

FUNCTIONS = {
    "eni-targets": "EniTargetsFunction",
    "target-sync": "TargetSyncFunction",
    "prefix-list-ingress": "PrefixListIngressFunction",
    "health-probe": "HealthProbeFunction",
}
PERMISSIONS_RS = ROOT / "crates" / "frontdoor" / "src" / "permissions.rs"


def _listify(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def load_balancer(r: Rendered) -> str:
    return "ApplicationLoadBalancer" if r.params["LoadBalancerType"] == "ALB" else "NetworkLoadBalancer"


# ---------------------------------------------------------------- defect 1: the probe's Region


def test_the_probe_connects_to_this_regions_load_balancer(scenario: Rendered) -> None:
    env = scenario.props("HealthProbeFunction")["Environment"]["Variables"]
    lb = load_balancer(scenario)
    assert env["PROBE_CONNECT_TO"] == {"Fn::GetAtt": [lb, "DNSName"]}, "the probe must measure its own Region"
    # ... which is not what DomainName resolves to under failover (the record's answer).
    assert env["PROBE_CONNECT_TO"] != scenario.params["DomainName"]
    assert scenario.props("PrivateRecord")["Name"] == scenario.params["DomainName"]


# ---------------------------------------------------------------- defect 2: mTLS clients


def verifies(listener: dict[str, Any]) -> bool:
    return listener.get("MutualAuthentication", {}).get("Mode") == "verify"


def front_door_listeners(r: Rendered) -> dict[str, Any]:
    """The listeners of this Region's front door, the load balancer that clients and the probe use
    (not the on-premises NLB behind the API, which only the API Gateway VPC link reaches)."""
    lb = {"Ref": load_balancer(r)}
    listeners = r.of_type("AWS::ElasticLoadBalancingV2::Listener")
    others = {k for k, v in listeners.items() if v["Properties"]["LoadBalancerArn"] != lb}
    assert others <= {"OnPremisesListener"}, f"listeners on another load balancer: {others}"
    return {k: v for k, v in listeners.items() if k not in others}


def verifying_listeners(r: Rendered) -> list[str]:
    return [k for k, v in front_door_listeners(r).items() if verifies(v["Properties"])]


def listeners_by_port(r: Rendered) -> dict[int, tuple[str, dict[str, Any]]]:
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for k, v in front_door_listeners(r).items():
        port = int(v["Properties"]["Port"])
        assert port not in out, f"{k} and {out[port][0]} both on port {port}"
        out[port] = (k, v["Properties"])
    return out


def probe_port(r: Rendered) -> int:
    """The probe connects to this Region's load balancer on PROBE_URL's port (curl --resolve style)."""
    url = r.props("HealthProbeFunction")["Environment"]["Variables"]["PROBE_URL"]
    assert isinstance(url, str), url
    return urlsplit(url).port or 443


def cloudfront_port(r: Rendered) -> int:
    """CloudFront connects to the VPC origin's ALB on the VPC origin's HTTPSPort."""
    config = r.props("VpcOrigin")["VpcOriginEndpointConfig"]
    assert config["OriginProtocolPolicy"] == "https-only"
    return int(config["HTTPSPort"])


def clients(r: Rendered) -> dict[str, int]:
    """Each client the stack runs, and the listener port it connects to."""
    out = {"health probe": probe_port(r)}
    if "Distribution" in r.resources:
        out["CloudFront"] = cloudfront_port(r)
    return out


def probe_presents_a_certificate(r: Rendered) -> bool:
    """The probe is told its secret, may read it, and can reach Secrets Manager from the VPC."""
    secret = r.params.get("ProbeClientCertificateSecretArn", "")
    env = r.props("HealthProbeFunction")["Environment"]["Variables"]
    if not secret or env.get("PROBE_CLIENT_CERT_SECRET") != secret:
        return False
    egress = r.props("ProbeEgressToSecretsManager")
    assert egress["GroupId"] == {"Fn::GetAtt": ["ProbeSecurityGroup", "GroupId"]}
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)
    if "SecretsManagerEndpoint" in r.resources:
        endpoint = r.props("SecretsManagerEndpoint")
        assert endpoint["ServiceName"] == f"com.amazonaws.{REGION}.secretsmanager"
        assert env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") == endpoint_url("SecretsManagerEndpoint")
        group = {"Fn::GetAtt": ["SecretsManagerEndpointSecurityGroup", "GroupId"]}
        assert endpoint["SecurityGroupIds"] == [group] and egress["DestinationSecurityGroupId"] == group
        (ingress,) = r.props("SecretsManagerEndpointSecurityGroup")["SecurityGroupIngress"]
        assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": ["ProbeSecurityGroup", "GroupId"]}
    else:
        group = r.params["SecretsManagerEndpointSecurityGroupId"]
        assert egress["DestinationSecurityGroupId"] == group
        assert r.props("ExistingSecretsEndpointIngressFromProbe")["GroupId"] == group
    return True


VPC_ORIGIN_CONFIG = {"VpcOriginId", "OriginKeepaliveTimeout", "OriginReadTimeout", "OwnerAccountId"}


def cloudfront_presents_a_certificate(r: Rendered) -> bool:
    """Never, through a VPC origin. An origin takes one of S3OriginConfig, CustomOriginConfig and
    VpcOriginConfig (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Origin.html);
    VpcOriginConfig has no client-certificate setting (API_VpcOriginConfig.html, the four fields
    above); OriginMtlsConfig is CustomOriginConfig's only (API_OriginMtlsConfig.html)."""
    (origin,) = r.props("Distribution")["DistributionConfig"]["Origins"]
    kinds = sorted({"S3OriginConfig", "CustomOriginConfig", "VpcOriginConfig"} & set(origin))
    assert kinds == ["VpcOriginConfig"], f"an origin takes exactly one origin config, not {kinds}"
    assert set(origin["VpcOriginConfig"]) <= VPC_ORIGIN_CONFIG, origin["VpcOriginConfig"]
    return False


PRESENTS = {"health probe": probe_presents_a_certificate, "CloudFront": cloudfront_presents_a_certificate}


def test_a_verifying_listener_has_a_certificate_for_each_client_the_stack_runs(scenario: Rendered) -> None:
    """Each client connects to one listener, by port; where that listener verifies, the client
    must present a certificate. CloudFront cannot, so its listener must not verify."""
    listeners = listeners_by_port(scenario)
    for client, port in clients(scenario).items():
        assert port in listeners, f"the {client} connects to port {port}, where the load balancer has no listener"
        name, listener = listeners[port]
        if client == "CloudFront":
            assert listener["LoadBalancerArn"] == scenario.props("VpcOrigin")["VpcOriginEndpointConfig"]["Arn"]
        if verifies(listener):
            assert PRESENTS[client](scenario), f"{name} (port {port}) verifies clients; the {client} presents none"


def test_mutual_tls_is_on_for_both_load_balancer_types() -> None:
    from render import SCENARIOS, render

    for name in ("mtls", "nlb-mtls", "cloudfront-mtls"):
        assert verifying_listeners(render(SCENARIOS[name])), name


def covers(rule: dict[str, Any], port: int) -> bool:
    if str(rule["IpProtocol"]) == "-1":
        return True
    return int(rule["FromPort"]) <= port <= int(rule["ToPort"])


def group_rules(r: Rendered, direction: str) -> list[tuple[str, dict[str, Any]]]:
    """(group, rule) for every inline and standalone rule of this direction ("Ingress" or "Egress")."""
    rules = []
    for logical_id, res in r.resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::EC2::SecurityGroup":
            group = json.dumps({"Fn::GetAtt": [logical_id, "GroupId"]}, sort_keys=True)
            rules += [(group, rule) for rule in props.get(f"SecurityGroup{direction}", [])]
        elif res["Type"] == f"AWS::EC2::SecurityGroup{direction}":
            rules.append((json.dumps(props["GroupId"], sort_keys=True), props))
    return rules


def test_a_listener_without_client_verification_is_reachable_from_cloudfront_only(scenario: Rendered) -> None:
    """Direct clients and the probe use the main listener (PROBE_URL's port). Any other listener is
    CloudFront's, and only CloudFrontIngress opens its port: to CloudFront's origin-facing prefix
    list and VPC-origin group, on the CloudFront group, never to ClientCidrs or the probe."""
    lb = load_balancer(scenario)
    lb_groups = {json.dumps(g, sort_keys=True) for g in scenario.props(lb)["SecurityGroups"]}
    main = probe_port(scenario)
    for port, (name, _) in listeners_by_port(scenario).items():
        if port == main:
            continue
        assert "Distribution" in scenario.resources and port == cloudfront_port(scenario), (
            f"{name} on port {port} serves no client of the stack"
        )
        opened = [(g, rule) for g, rule in group_rules(scenario, "Ingress") if g in lb_groups and covers(rule, port)]
        assert opened == [], f"{name} (port {port}) is opened to more than CloudFront: {opened}"
        probe = json.dumps({"Fn::GetAtt": ["ProbeSecurityGroup", "GroupId"]}, sort_keys=True)
        reach = [
            rule for g, rule in group_rules(scenario, "Egress") if g == probe and rule.get("CidrIp") != "127.0.0.1/32"
        ]
        assert not [rule for rule in reach if covers(rule, port)], f"the probe can reach {name} (port {port})"
        ingress = scenario.props("CloudFrontIngress")
        assert (int(ingress["Port"]), ingress["Protocol"]) == (port, "tcp")
        assert ingress["SecurityGroupId"] == {"Fn::GetAtt": ["CloudFrontOriginSecurityGroup", "GroupId"]}
        assert (
            ingress["PrefixListName"] == "com.amazonaws.global.cloudfront.origin-facing"
            and "PrefixListId" not in ingress
        )
        assert str(ingress["AllowVpcOrigin"]).lower() == "true" and ingress["VpcId"] == scenario.params["VpcId"]
    # The rules the template writes on the load balancer's groups (clients, probe) are on the main port only.
    for group, rule in group_rules(scenario, "Ingress"):
        if group in lb_groups:
            assert (int(rule["FromPort"]), int(rule["ToPort"])) == (main, main), (group, rule)


# ---------------------------------------------------------------- defect 3: roles across updates


def permission_table() -> dict[str, list[tuple[str, str]]]:
    """permissions.rs, as {function: [(action, resource kind)]}."""
    text = PERMISSIONS_RS.read_text()
    consts = {
        name: re.findall(r'Permission\s*\{\s*action:\s*"([^"]+)",\s*resource:\s*Resource::(\w+)\s*\}', body)
        for name, body in re.findall(r"pub const (\w+): &\[Permission\] = &\[(.*?)\];", text, re.S)
    }
    consts.update(
        re.findall(r"pub const (\w+): &\[Permission\] = (\w+);", text)
        and {a: consts[b] for a, b in re.findall(r"pub const (\w+): &\[Permission\] = (\w+);", text)}
    )
    functions = dict(re.findall(r'\("([a-z-]+)",\s*(\w+)\)', text.split("pub const FUNCTIONS", 1)[1]))
    table = {function: consts[const] for function, const in functions.items()}
    assert set(table) == set(FUNCTIONS) and all(table.values()), table
    return table


def candidates(r: Rendered, kind: str) -> list[tuple[str, dict[str, str]]]:
    """(ARN, tags) of every resource of this kind the stack can hand a function across an
    update: a replaced (old) physical resource, with the tags this template gives it."""

    def tags(logical_id: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in r.props(logical_id).get("Tags", [])}

    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    if kind == "Any":
        return [("*", {})]
    if kind == "TargetGroup":
        return [
            (arn.format("elasticloadbalancing", f"targetgroup/{STACK[:10]}-Old/0123456789abcdef"), tags(k))
            for k in r.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        ]
    if kind == "SecurityGroup":
        return [
            (arn.format("ec2", "security-group/sg-0000000000000old0"), tags(k))
            for k in r.of_type("AWS::EC2::SecurityGroup")
        ]
    if kind == "SecurityGroupRule":
        return [(arn.format("ec2", "security-group-rule/sgr-000000000000old0"), {})]
    if kind == "Secret":
        return (
            [(r.params["ProbeClientCertificateSecretArn"], {})] if r.params["ProbeClientCertificateSecretArn"] else []
        )
    raise AssertionError(f"unknown resource kind {kind}")


def role_statements(r: Rendered, function_id: str) -> list[dict[str, Any]]:
    role = r.props(function_id)["Role"]["Fn::GetAtt"][0]
    return [s for p in r.props(role).get("Policies", []) for s in _listify(p["PolicyDocument"]["Statement"])]


def condition_holds(condition: dict[str, Any], tags: dict[str, str]) -> bool:
    """Resource-tag conditions against the resource's tags; request-side keys (aws:TagKeys)
    are about what the call sends, not which resource it may name, and parliament checks them."""
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            if not key.startswith("aws:ResourceTag/"):
                continue
            actual = tags.get(key.split("/", 1)[1])
            if operator == "StringEquals":
                ok = actual in _listify(expected)
            elif operator == "StringLike":
                ok = actual is not None and any(fnmatch.fnmatchcase(actual, e) for e in _listify(expected))
            else:
                raise AssertionError(f"unsupported operator {operator} on {key}")
            if not ok:
                return False
    return True


def allowed(statements: list[dict[str, Any]], action: str, arn: str, tags: dict[str, str]) -> bool:
    for s in statements:
        if s["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in _listify(s["Action"])):
            continue
        # A resource still written as a reference names today's physical resource only.
        patterns = [p for p in _listify(s["Resource"]) if isinstance(p, str)]
        if any(fnmatch.fnmatchcase(arn, p) for p in patterns) and condition_holds(s.get("Condition", {}), tags):
            return True
    return False


def test_the_permission_table_is_read() -> None:
    table = permission_table()
    assert ("elasticloadbalancing:DeregisterTargets", "TargetGroup") in table["target-sync"]
    assert ("secretsmanager:GetSecretValue", "Secret") in table["health-probe"]


def test_every_role_allows_every_call_on_every_resource_across_updates(scenario: Rendered) -> None:
    for function, permissions in permission_table().items():
        function_id = FUNCTIONS[function]
        if function_id not in scenario.resources:
            continue
        statements = role_statements(scenario, function_id)
        for action, kind in permissions:
            for arn, tags in candidates(scenario, kind):
                assert allowed(statements, action, arn, tags), f"{function} may not {action} on {arn} (tags {tags})"


def test_the_coverage_check_refuses_a_policy_bound_to_todays_resource() -> None:
    today = [
        {"Effect": "Allow", "Action": ["elasticloadbalancing:DeregisterTargets"], "Resource": {"Ref": "ApiTargetGroup"}}
    ]
    old = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/x/1"
    assert not allowed(today, "elasticloadbalancing:DeregisterTargets", old, {"frontdoor:stack": "s"})
    tagged = [
        {
            **today[0],
            "Resource": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/frontdoor:stack": "s"}},
        }
    ]
    assert allowed(tagged, "elasticloadbalancing:DeregisterTargets", old, {"frontdoor:stack": "s"})
    assert not allowed(tagged, "elasticloadbalancing:DeregisterTargets", old, {"frontdoor:stack": "other"})


# parliament wants each statement to name the action's required resource type. Authorize-
# SecurityGroupIngress also names the new rule (security-group-rule, which accepts no
# aws:ResourceTag); it has its own statement, because the group's tag condition would deny
# the untagged rule. Parliament reports that one statement as RESOURCE_MISMATCH; this is the
# only finding ignored, and only there.
IGNORED = {("RESOURCE_MISMATCH", "ec2:AuthorizeSecurityGroupIngress", "CreateRulesInOwnGroups")}


def concrete(node: Any, r: Rendered) -> Any:
    """A policy with the references that remain after rendering replaced by ARNs of their type."""
    if isinstance(node, list):
        return [concrete(x, r) for x in node]
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"} and r.resources[node["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/frontdoor/{STACK}/x:*"
        assert not any(k == "Ref" or k.startswith("Fn::") for k in node), f"unresolved {node}"
        return {k: concrete(v, r) for k, v in node.items()}
    return node


def test_every_role_statement_passes_parliament(scenario: Rendered) -> None:
    findings = []
    for function_id in FUNCTIONS.values():
        if function_id not in scenario.resources:
            continue
        for statement in role_statements(scenario, function_id):
            document = {"Version": "2012-10-17", "Statement": [concrete(statement, scenario)]}
            for f in analyze_policy_string(json.dumps(document)).findings:
                actions = {d.get("action") for d in _listify(f.detail) if isinstance(d, dict)}
                if any((f.issue, a, statement.get("Sid")) in IGNORED for a in actions):
                    continue
                if f.severity in ("MEDIUM", "HIGH", "CRITICAL") or f.issue.startswith("UNKNOWN_"):
                    findings.append((function_id, statement.get("Sid"), f.issue, f.detail))
    assert findings == []


def test_parliament_sees_a_bad_statement() -> None:
    bad = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ec2:RevokeSecurityGroupIngress",
                "Resource": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/*",
            }
        ]
    }
    assert {f.issue for f in analyze_policy_string(json.dumps({"Version": "2012-10-17", **bad})).findings} == {
        "RESOURCE_MISMATCH"
    }


# ---------------------------------------------------------------- issue 16: retries


def test_target_sync_is_not_retried_by_lambda(scenario: Rendered) -> None:
    (config,) = [
        v["Properties"]
        for v in scenario.of_type("AWS::Lambda::EventInvokeConfig").values()
        if v["Properties"]["FunctionName"] == {"Ref": "TargetSyncFunction"}
    ]
    assert config["MaximumRetryAttempts"] == 0, "the 5-minute schedule is the backstop"


# ---------------------------------------------------------------- issue 22: a shared VPC

# Each interface endpoint the stack creates for its own functions, and the SDK's service-specific
# endpoint variable that hands the function the endpoint's own name. tests/service_endpoints.rs
# proves that the SDK for Rust reads exactly these names.
OWN_ENDPOINTS = {
    "SecretsManagerEndpoint": ("HealthProbeFunction", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    "Ec2ApiEndpoint": ("TargetSyncFunction", "AWS_ENDPOINT_URL_EC2"),
    "ElbApiEndpoint": ("TargetSyncFunction", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"),
}


def endpoint_url(endpoint: str) -> dict[str, Any]:
    """https:// and the endpoint's Regional DNS name, the first of DnsEntries ("zone-id:name")."""
    name = {"Fn::Select": [1, {"Fn::Split": [":", {"Fn::Select": [0, {"Fn::GetAtt": [endpoint, "DnsEntries"]}]}]}]}
    return {"Fn::Sub": ["https://${Name}", {"Name": name}]}


def test_no_endpoint_the_stack_creates_changes_how_the_vpc_resolves(scenario: Rendered) -> None:
    """Private DNS makes a service's Regional name resolve to the endpoint for every caller in the
    VPC (CreateVpcEndpoint, PrivateDnsEnabled), and these endpoints admit only the stack's functions."""
    endpoints = scenario.of_type("AWS::EC2::VPCEndpoint")
    assert set(endpoints) <= {"ExecuteApiEndpoint", *OWN_ENDPOINTS}
    for name, endpoint in endpoints.items():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is False, f"{name} takes its service's name over"


def test_each_function_reaches_the_stacks_endpoints_by_their_own_names(scenario: Rendered) -> None:
    for endpoint, (function, variable) in OWN_ENDPOINTS.items():
        variables = scenario.props(function)["Environment"]["Variables"]
        expected = endpoint_url(endpoint) if endpoint in scenario.resources else None
        assert variables.get(variable) == expected, f"{function}: {variable}"


def test_every_front_door_listener_states_its_mutual_tls_mode(scenario: Rendered) -> None:
    """Removing MutualAuthentication does not reset a listener (cloudformation-coverage-roadmap
    #2497): each listener says verify or off, so that turning mutual TLS off is an update that works."""
    for name, listener in front_door_listeners(scenario).items():
        mode = listener["Properties"].get("MutualAuthentication", {}).get("Mode")
        expected = "verify" if scenario.conditions["UseMutualTls"] and name != "CloudFrontListener" else "off"
        assert mode == expected, name


def test_cloudfront_requires_client_certificates_whenever_the_load_balancer_does(scenario: Rendered) -> None:
    """CloudFront's own listener (8443) cannot verify; with mutual TLS, CloudFront does it at the
    edge (viewer mTLS), against a trust store made from the same CA bundle as the load balancer's."""
    if "Distribution" not in scenario.resources:
        return
    config = scenario.props("Distribution")["DistributionConfig"]
    if not scenario.conditions["UseMutualTls"]:
        assert "ViewerMtlsConfig" not in config and "CloudFrontTrustStore" not in scenario.resources
        return
    viewer = config["ViewerMtlsConfig"]
    # Viewer mTLS is not supported on HTTP/3 (CloudFront Developer Guide, enable-mtls-distributions).
    assert config["HttpVersion"] == "http2"
    assert viewer["Mode"] == "required"
    assert viewer["TrustStoreConfig"]["TrustStoreId"] == {"Fn::GetAtt": ["CloudFrontTrustStore", "Id"]}
    assert viewer["TrustStoreConfig"]["IgnoreCertificateExpiry"] is False
    edge = scenario.props("CloudFrontTrustStore")["CaCertificatesBundleSource"]["CaCertificatesBundleS3Location"]
    elb = scenario.props("TrustStore")
    uri = urlsplit(scenario.params["TrustStoreBundleS3Uri"])
    assert (edge["Bucket"], edge["Key"]) == (elb["CaCertificatesBundleS3Bucket"], elb["CaCertificatesBundleS3Key"])
    assert (edge["Bucket"], edge["Key"]) == (uri.netloc, uri.path.lstrip("/"))


def test_metrics_cannot_be_filtered_out_by_the_log_level(scenario: Rendered) -> None:
    """EMF lines carry no level and Lambda files them as INFO: a level above INFO drops the metrics,
    and missing data is breaching (the Region fails over)."""
    functions = [f for f in FUNCTIONS.values() if f in scenario.resources]
    assert len(functions) >= 3
    for function in functions:
        logging = scenario.props(function)["LoggingConfig"]
        assert (logging["LogFormat"], logging.get("ApplicationLogLevel")) == ("JSON", "INFO"), function


# ---------------------------------------------------------------- defect 4: CloudFront's Region

ROUTE53_FAILS_CLOUDFRONT_OVER = re.compile(
    r"(route ?53|failover record)[^.\n]{0,80}(handles?|does|fails? over|drives?)"
    r"[^.\n]{0,40}(cloudfront|distribution|region failover)"
    r"|cloudfront[^.\n]{0,80}(fails? over|follows the failover)"
    r"|fail ?over is (done|handled) by route ?53",
    re.I,
)
ONE_REGION = re.compile(r"CloudFront stays on (this |one )+Region", re.I)


def texts() -> dict[str, str]:
    """The template and every page a user reads: README.md and docs/."""
    pages = [ROOT / "template.yaml", ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return {str(page.relative_to(ROOT)): page.read_text() for page in pages}


def test_nothing_claims_route53_fails_cloudfront_over() -> None:
    for name, text in texts().items():
        claims = [
            m.group(0)
            for m in ROUTE53_FAILS_CLOUDFRONT_OVER.finditer(text)
            if not re.search(r"\b(not|never|no part|does not)\b", m.group(0), re.I)
        ]
        assert claims == [], f"{name} claims Route 53 fails CloudFront over: {claims}"


def test_cloudfront_is_documented_as_one_region() -> None:
    from render import raw_template

    raw = raw_template()
    assert ONE_REGION.search(raw["Parameters"]["EnableCloudFront"]["Description"])
    assert ONE_REGION.search(texts()["README.md"])
    skips = {s["id"]: s["comment"] for s in raw["Resources"]["Distribution"]["Metadata"]["checkov"]["skip"]}
    assert "does not fail over" in skips["CKV_AWS_310"]


# ---------------------------------------------------------------- issue 22: custom resources' retries


def test_custom_resource_retries_end_before_cloudformation_gives_up(scenario: Rendered) -> None:
    """CloudFormation invokes custom resources asynchronously ("Using AWS Lambda with CloudFormation"):
    Lambda's retries re-send a failed response, and none may act after the ServiceTimeout."""
    custom = {k: v["Properties"] for k, v in scenario.resources.items() if v["Type"].startswith("Custom::")}
    assert custom
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in scenario.of_type("AWS::Lambda::EventInvokeConfig").values()
    }
    for name, props in custom.items():
        function = props["ServiceToken"]["Fn::GetAtt"][0]
        config = configs[function]
        assert config["MaximumRetryAttempts"] == 2, name
        assert config["MaximumEventAgeInSeconds"] <= props["ServiceTimeout"], name
