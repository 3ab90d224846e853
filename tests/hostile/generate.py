#!/usr/bin/env python3
"""Generates the hostile-input corpus from the real events in events/.

    python3 tests/hostile/generate.py      # rewrites tests/hostile/{events,bindings,probe}/ and manifest.json

Deterministic: the same events/ give the same files. Each file is one input;
manifest.json says, for each, which functions it targets and what each must do:

- custom resources (eni-targets, prefix-list-ingress):
  {"status": "FAILED", "field": F}   exactly one FAILED response whose Reason names F
  {"status": "SUCCESS"}              tolerated: exactly one SUCCESS response
  {"status": "ERROR", "field": F}    no usable ResponseURL: run() errs naming F
- target-sync events: {"scope": "all" | "none" | [ids]} (it takes any JSON, by contract)
- target-sync bindings (FRONTDOOR_BINDINGS): {"error": S} or {"ok": n}
- health-probe configuration (its environment): {"var": V} or {"ok": true}

Every function also gets every event file, for the promise of no panic.
The ids of events/ (vpce-0123456789abcdef0, the target group's ARN,
sg-0123456789abcdef0, vpc-0123456789abcdef0) and its ResponseURL are
placeholders that the test replaces with moto's resources and a local
ResponseURL; mutated ids stay as they are. No ResponseURL here may name a
host other than 127.0.0.1.
"""

import copy
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "hostile"
EVENTS = ROOT / "events"

MB = 1024 * 1024
BIG = "a" * MB
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/frontdoor-endpoint/0123456789abcdef"
VPCE = "vpce-0123456789abcdef0"

ET = "eni-targets"
PLI = "prefix-list-ingress"
TS = "target-sync"

files = []


def load(name):
    return json.loads((EVENTS / name).read_text())


def failed(field):
    return {"status": "FAILED", "field": field}


SUCCESS = {"status": "SUCCESS"}


def error(field):
    return {"status": "ERROR", "field": field}


def add(directory, name, content, expect, base, mutation):
    """Writes one file. `content` is a JSON value, or bytes written as they are."""
    path = OUT / directory / f"{name}.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    files.append(
        {
            "file": f"{directory}/{name}.json",
            "base": base,
            "mutation": mutation,
            "expect": expect,
        }
    )


def mutate(event, path, value):
    """A copy of the event with `path` (a list of keys) set to value, or removed if value is REMOVE."""
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    if value is REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


REMOVE = object()


def custom_resource_events():
    bases = {
        ET: {t: load(f"endpoint-targets-{t}.json") for t in ("create", "update", "delete")},
        PLI: {t: load(f"prefix-list-ingress-{t}.json") for t in ("create", "update", "delete")},
    }
    prefix = {ET: "endpoint-targets", PLI: "prefix-list-ingress"}

    def cr(function, kind, slug, path, value, expect, mutation):
        base = bases[function][kind]
        add(
            "events",
            f"{prefix[function]}-{kind}--{slug}",
            mutate(base, path, value),
            {function: expect},
            f"events/{prefix[function]}-{kind}.json",
            mutation,
        )

    # The envelope, for both resources.
    for function in (ET, PLI):
        for field in ("RequestType", "StackId", "RequestId", "LogicalResourceId", "ResourceType", "ResourceProperties"):
            cr(function, "create", f"missing-{field}", [field], REMOVE, failed(field), f"removes {field}")
        cr(function, "create", "missing-ResponseURL", ["ResponseURL"], REMOVE, error("ResponseURL"), "removes ResponseURL")
        cr(function, "update", "missing-PhysicalResourceId", ["PhysicalResourceId"], REMOVE, failed("PhysicalResourceId"), "removes PhysicalResourceId")
        cr(function, "delete", "missing-PhysicalResourceId", ["PhysicalResourceId"], REMOVE, failed("PhysicalResourceId"), "removes PhysicalResourceId")
        cr(function, "update", "missing-OldResourceProperties", ["OldResourceProperties"], REMOVE, failed("OldResourceProperties"), "removes OldResourceProperties")
        for slug, value in (("lowercase", "create"), ("uppercase", "CREATE"), ("unknown", "Destroy"), ("empty", ""), ("number", 1), ("null", None), ("list", ["Create"])):
            cr(function, "create", f"RequestType-{slug}", ["RequestType"], value, failed("RequestType"), f"RequestType {json.dumps(value)}")
        cr(function, "create", "StackId-number", ["StackId"], 123456789012, failed("StackId"), "StackId is a number")
        cr(function, "create", "RequestId-object", ["RequestId"], {"id": "x"}, failed("RequestId"), "RequestId is an object")
        cr(function, "create", "LogicalResourceId-list", ["LogicalResourceId"], ["Targets"], failed("LogicalResourceId"), "LogicalResourceId is a list")
        cr(function, "create", "ResourceProperties-string", ["ResourceProperties"], "VpcEndpointId=vpce-1", failed("ResourceProperties"), "ResourceProperties is a string")
        cr(function, "create", "ResourceProperties-list", ["ResourceProperties"], [], failed("ResourceProperties"), "ResourceProperties is a list")
        cr(function, "create", "ResponseURL-number", ["ResponseURL"], 42, error("ResponseURL"), "ResponseURL is a number")
        cr(function, "create", "ResponseURL-empty", ["ResponseURL"], "", error("ResponseURL"), "ResponseURL is empty")
        cr(function, "create", "ResponseURL-not-a-url", ["ResponseURL"], "not a url\u0000", error("ResponseURL"), "ResponseURL is no URL, with a NUL byte")
        # Unanswerable although the text parses as a URL: nothing may be done for it.
        cr(function, "create", "ResponseURL-control-character", ["ResponseURL"], "http://127.0.0.1:9/response\u0001", error("ResponseURL"), "ResponseURL is an http URL with a control character")
        cr(function, "create", "ResponseURL-file-scheme", ["ResponseURL"], "file:///tmp/frontdoor-response", error("ResponseURL"), "ResponseURL is a file URL, which no PUT can reach")
        cr(function, "create", "extra-top-level-field", ["Unexpected"], {"nested": [1, 2, 3]}, SUCCESS, "an extra top-level field: tolerated, as CloudFormation adds fields over time")
        cr(function, "create", "LogicalResourceId-unicode", ["LogicalResourceId"], "Ingrèss前端🚪", SUCCESS, "a unicode LogicalResourceId: tolerated")
        cr(function, "delete", "ResourceProperties-wrong-shape", ["ResourceProperties"], {"Anything": ["at", "all"]}, SUCCESS, "a Delete whose properties never parsed never created anything")
    # 1 MB strings in the envelope: CloudFormation echoes these fields, so the
    # response could never fit 4,096 bytes with them.
    cr(ET, "create", "LogicalResourceId-1MB", ["LogicalResourceId"], BIG, failed("LogicalResourceId"), "a 1 MB LogicalResourceId")
    cr(PLI, "create", "RequestId-1MB", ["RequestId"], BIG, failed("RequestId"), "a 1 MB RequestId")
    cr(ET, "delete", "PhysicalResourceId-1MB", ["PhysicalResourceId"], "p" * MB, failed("PhysicalResourceId"), "a 1 MB PhysicalResourceId")

    # eni-targets properties.
    props = ["ResourceProperties"]
    for slug, field, value, expect, mutation in (
        ("VpcEndpointId-missing", "VpcEndpointId", REMOVE, failed("VpcEndpointId"), "removes VpcEndpointId"),
        ("VpcEndpointId-vpc-id", "VpcEndpointId", "vpc-0123456789abcdef0", failed("VpcEndpointId"), "a VPC id, not an endpoint id"),
        ("VpcEndpointId-short", "VpcEndpointId", "vpce-0123456789abcdef", failed("VpcEndpointId"), "16 hex digits"),
        ("VpcEndpointId-uppercase", "VpcEndpointId", "VPCE-0123456789ABCDEF0", failed("VpcEndpointId"), "upper case"),
        ("VpcEndpointId-unknown", "VpcEndpointId", "vpce-0fedcba9876543210", failed("VpcEndpointId"), "a well-formed id that does not exist"),
        ("VpcEndpointId-number", "VpcEndpointId", 1234, failed("VpcEndpointId"), "a number"),
        ("VpcEndpointId-list", "VpcEndpointId", [VPCE], failed("VpcEndpointId"), "a list"),
        ("VpcEndpointId-NUL", "VpcEndpointId", VPCE + "\u0000", failed("VpcEndpointId"), "a NUL byte after the id"),
        ("VpcEndpointId-fullwidth", "VpcEndpointId", "vpce-０１２３４５６７８９abcdef0", failed("VpcEndpointId"), "fullwidth unicode digits"),
        ("VpcEndpointId-1MB", "VpcEndpointId", "vpce-" + BIG, failed("VpcEndpointId"), "a 1 MB id"),
        ("TargetGroupArns-missing", "TargetGroupArns", REMOVE, failed("TargetGroupArns"), "removes TargetGroupArns"),
        ("TargetGroupArns-empty", "TargetGroupArns", [], failed("TargetGroupArns"), "an empty list"),
        ("TargetGroupArns-six", "TargetGroupArns", [ARN.replace("frontdoor-endpoint", f"g{i}") for i in range(6)], failed("TargetGroupArns"), "six groups"),
        ("TargetGroupArns-number", "TargetGroupArns", 7, failed("TargetGroupArns"), "a number"),
        ("TargetGroupArns-object", "TargetGroupArns", {"Arn": ARN}, failed("TargetGroupArns"), "an object"),
        ("TargetGroupArns-item-number", "TargetGroupArns", [ARN, 5], failed("TargetGroupArns"), "a number among the ARNs"),
        ("TargetGroupArns-loadbalancer", "TargetGroupArns", [ARN.replace("targetgroup/frontdoor-endpoint", "loadbalancer/app/frontdoor")], failed("TargetGroupArns"), "a load balancer's ARN"),
        ("TargetGroupArns-sqs", "TargetGroupArns", ["arn:aws:sqs:us-east-1:123456789012:queue"], failed("TargetGroupArns"), "another service's ARN"),
        ("TargetGroupArns-other-region", "TargetGroupArns", [ARN.replace("us-east-1", "eu-west-1")], failed("TargetGroupArns"), "a well-formed ARN of another Region"),
        ("TargetGroupArns-other-account", "TargetGroupArns", [ARN.replace("123456789012", "000000000000")], failed("TargetGroupArns"), "a well-formed ARN of another account"),
        ("TargetGroupArns-short-account", "TargetGroupArns", [ARN.replace("123456789012", "1234")], failed("TargetGroupArns"), "a 4-digit account"),
        ("TargetGroupArns-unicode", "TargetGroupArns", [ARN.replace("frontdoor-endpoint", "frontdöör")], failed("TargetGroupArns"), "a unicode name"),
        ("TargetGroupArns-1MB", "TargetGroupArns", [ARN + BIG], failed("TargetGroupArns"), "a 1 MB ARN"),
        ("Port-word", "Port", "https", failed("Port"), "a word"),
        ("Port-zero", "Port", "0", failed("Port"), "0"),
        ("Port-too-big", "Port", "65536", failed("Port"), "65536"),
        ("Port-negative", "Port", -443, failed("Port"), "a negative number"),
        ("Port-fraction", "Port", 443.5, failed("Port"), "a fraction"),
        ("Port-boolean", "Port", True, failed("Port"), "a boolean"),
        ("Port-list", "Port", ["443"], failed("Port"), "a list"),
        ("Port-NUL", "Port", "443\u0000", failed("Port"), "a NUL byte after the number"),
        ("Port-number", "Port", 8443, SUCCESS, "a JSON number: accepted"),
        ("extra-property", "Prot", "8443", SUCCESS, "an unknown property: ignored, like ServiceToken"),
    ):
        cr(ET, "create", slug, props + [field], value, expect, mutation)
    cr(ET, "update", "new-Port-word", props + ["Port"], "https", failed("Port"), "the new Port is a word")
    cr(ET, "update", "old-Port-word", ["OldResourceProperties", "Port"], "https", SUCCESS, "the old Port is a word: the old properties only guide clean-up")
    cr(ET, "delete", "VpcEndpointId-sg", props + ["VpcEndpointId"], "sg-0123456789abcdef0", SUCCESS, "a Delete whose properties never parsed never created anything")

    # prefix-list-ingress properties.
    for slug, field, value, expect, mutation in (
        ("SecurityGroupId-missing", "SecurityGroupId", REMOVE, failed("SecurityGroupId"), "removes SecurityGroupId"),
        ("SecurityGroupId-rule-id", "SecurityGroupId", "sgr-0123456789abcdef0", failed("SecurityGroupId"), "a rule id"),
        ("SecurityGroupId-unknown", "SecurityGroupId", "sg-0fedcba9876543210", failed("SecurityGroupId"), "a well-formed id that does not exist"),
        ("SecurityGroupId-object", "SecurityGroupId", {"Ref": "Alb"}, failed("SecurityGroupId"), "an unresolved intrinsic"),
        ("SecurityGroupId-NUL", "SecurityGroupId", "sg-01234567\u0000", failed("SecurityGroupId"), "a NUL byte"),
        ("SecurityGroupId-1MB", "SecurityGroupId", "sg-" + BIG, failed("SecurityGroupId"), "a 1 MB id"),
        ("Protocol-icmp", "Protocol", "icmp", failed("Protocol"), "icmp"),
        ("Protocol-number", "Protocol", 6, failed("Protocol"), "a number"),
        ("AllowPrefixList-yes", "AllowPrefixList", "yes", failed("AllowPrefixList"), "yes"),
        ("AllowVpcOrigin-list", "AllowVpcOrigin", ["true"], failed("AllowVpcOrigin"), "a list"),
        ("PrefixListId-shape", "PrefixListId", "pl-xyz", failed("PrefixListId"), "a malformed id"),
        ("PrefixListId-unknown", "PrefixListId", "pl-0123456789abcdef0", failed("PrefixListId"), "a well-formed id that does not exist"),
        ("PrefixListName-unknown", "PrefixListName", "com.example.nothing", failed("PrefixListName"), "a name that does not exist"),
        ("PrefixListName-unicode", "PrefixListName", "com.amazonaws.global.cloudfront.origin-facing\u202e", failed("PrefixListName"), "a right-to-left override after the name"),
        ("RulesPerSecurityGroupLimit-zero", "RulesPerSecurityGroupLimit", "0", failed("RulesPerSecurityGroupLimit"), "0"),
        ("RulesPerSecurityGroupLimit-huge", "RulesPerSecurityGroupLimit", "99999999999999999999999", failed("RulesPerSecurityGroupLimit"), "beyond u64"),
        ("Port-word", "Port", "https", failed("Port"), "a word"),
        ("Port-1MB", "Port", "4" * MB, failed("Port"), "a 1 MB number"),
    ):
        cr(PLI, "create", slug, props + [field], value, expect, mutation)
    vpc_origin = mutate(bases[PLI]["create"], props + ["AllowVpcOrigin"], "true")
    add("events", "prefix-list-ingress-create--VpcId-missing", mutate(vpc_origin, props + ["VpcId"], REMOVE), {PLI: failed("VpcId")}, "events/prefix-list-ingress-create.json", "AllowVpcOrigin true without VpcId")
    add("events", "prefix-list-ingress-create--VpcId-endpoint-id", mutate(vpc_origin, props + ["VpcId"], VPCE), {PLI: failed("VpcId")}, "events/prefix-list-ingress-create.json", "AllowVpcOrigin true with an endpoint id as VpcId")
    cr(PLI, "update", "new-SecurityGroupId-number", props + ["SecurityGroupId"], 5, failed("SecurityGroupId"), "the new SecurityGroupId is a number")


def target_sync_events():
    modify = load("target-sync-modify-vpc-endpoint.json")
    scheduled = load("scheduled.json")
    request = ["detail", "requestParameters", "ModifyVpcEndpointRequest", "VpcEndpointId"]

    def ts(name, base_name, event, scope, mutation):
        add("events", f"{base_name}--{name}", event, {TS: {"scope": scope}}, f"events/{base_name}.json", mutation)

    ts("eventName-number", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail", "eventName"], 7), "all", "eventName is a number")
    ts("eventName-unknown", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail", "eventName"], "DeleteVpcEndpoint"), "all", "an event name not among the three")
    ts("detail-type-lowercase", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail-type"], "aws api call via cloudtrail"), "all", "detail-type in lower case")
    ts("source-elb", "target-sync-modify-vpc-endpoint", mutate(modify, ["source"], "aws.elasticloadbalancing"), "all", "another source")
    ts("detail-missing", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail"], REMOVE), "all", "no detail")
    ts("detail-string", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail"], "ModifyVpcEndpoint"), "all", "detail is a string")
    ts("id-number", "target-sync-modify-vpc-endpoint", mutate(modify, ["id"], 5), "all", "id is a number: not an EventBridge event, so every binding")
    ts("endpoint-malformed", "target-sync-modify-vpc-endpoint", mutate(modify, request, "vpce-NOPE"), "none", "a malformed endpoint id")
    ts("endpoint-NUL", "target-sync-modify-vpc-endpoint", mutate(modify, request, VPCE + "\u0000"), "none", "a NUL byte after the endpoint id")
    ts("endpoint-1MB", "target-sync-modify-vpc-endpoint", mutate(modify, request, "vpce-" + BIG), "none", "a 1 MB endpoint id")
    ts("endpoint-unicode", "target-sync-modify-vpc-endpoint", mutate(modify, request, "vpce-０１２３４５６７"), "none", "fullwidth digits")
    ts("endpoint-list", "target-sync-modify-vpc-endpoint", mutate(modify, request, [VPCE, {"deep": [VPCE]}]), [VPCE], "the id inside lists and objects")
    ts("requestParameters-null", "target-sync-modify-vpc-endpoint", mutate(modify, ["detail", "requestParameters"], None), "none", "no parameters")
    ts("time-garbage", "scheduled", mutate(scheduled, ["time"], "yesterday"), "all", "a time that is no timestamp")
    ts("detail-type-unicode", "scheduled", mutate(scheduled, ["detail-type"], "Scheduled Event\u0000🚀"), "all", "unicode and NUL in detail-type")


def raw_inputs():
    """What the Lambda runtime itself rejects before any handler: not JSON."""
    create = (EVENTS / "endpoint-targets-create.json").read_bytes()
    raw = {
        "empty": (b"", "an empty body"),
        "whitespace": (b" \n\t ", "only whitespace"),
        "not-json": (b"RequestType=Create&StackId=x", "a form body"),
        "truncated": (create[: len(create) // 2], "an event cut in half"),
        "nul-bytes": (b"\x00" * 64, "NUL bytes"),
        "invalid-utf8": (b'{"RequestType": "\xff\xfe"}', "invalid UTF-8"),
    }
    for name, (content, mutation) in raw.items():
        expect = {
            ET: error("ResponseURL"),
            PLI: error("ResponseURL"),
            TS: {"scope": "all"},
        }
        add("events", f"raw--{name}", content, expect, "events/endpoint-targets-create.json", mutation + " (not JSON)")
    # JSON, but not an object.
    for name, value in (("null", None), ("number", 42), ("string", "Create"), ("list", [load("endpoint-targets-create.json")])):
        expect = {ET: error("ResponseURL"), PLI: error("ResponseURL"), TS: {"scope": "all"}}
        add("events", f"raw--json-{name}", value, expect, "events/endpoint-targets-create.json", f"a JSON {name}, not an object")


def bindings():
    base = [{"vpcEndpointId": VPCE, "targetGroupArns": [ARN], "port": 443}]

    def b(name, value, expect, mutation):
        add("bindings", name, value, {TS: expect}, "template.yaml FRONTDOOR_BINDINGS, with the ids of events/", mutation)

    def one(**changes):
        item = dict(base[0])
        for key, value in changes.items():
            if value is REMOVE:
                del item[key]
            else:
                item[key] = value
        return [item]

    b("valid", base, {"ok": 1}, "the template's shape, unchanged")
    b("port-string", one(port="8443"), {"ok": 1}, "port as a string")
    b("missing-vpcEndpointId", one(vpcEndpointId=REMOVE), {"error": "FRONTDOOR_BINDINGS[0].vpcEndpointId"}, "removes vpcEndpointId")
    b("missing-targetGroupArns", one(targetGroupArns=REMOVE), {"error": "FRONTDOOR_BINDINGS[0].targetGroupArns"}, "removes targetGroupArns")
    b("extra-field", one(prot=443), {"error": "FRONTDOOR_BINDINGS[0].prot"}, "an unknown field")
    b("extra-field-1MB-name", one(**{"p" * MB: 1}), {"error": "FRONTDOOR_BINDINGS[0]."}, "an unknown field whose name is 1 MB")
    b("port-word", one(port="https"), {"error": "FRONTDOOR_BINDINGS[0].port"}, "port is a word")
    b("port-too-big", one(port=70000), {"error": "FRONTDOOR_BINDINGS[0].port"}, "port 70000")
    b("targetGroupArns-string", one(targetGroupArns=ARN), {"error": "FRONTDOOR_BINDINGS[0].targetGroupArns"}, "a string, not a list")
    b("targetGroupArns-empty", one(targetGroupArns=[]), {"error": "FRONTDOOR_BINDINGS[0].targetGroupArns"}, "an empty list")
    b("targetGroupArns-sqs", one(targetGroupArns=["arn:aws:sqs:us-east-1:123456789012:q"]), {"error": "FRONTDOOR_BINDINGS[0].targetGroupArns"}, "another service's ARN")
    b("vpcEndpointId-subnet", one(vpcEndpointId="subnet-0123456789abcdef0"), {"error": "FRONTDOOR_BINDINGS[0].vpcEndpointId"}, "a subnet id")
    b("vpcEndpointId-NUL", one(vpcEndpointId=VPCE + "\u0000"), {"error": "FRONTDOOR_BINDINGS[0].vpcEndpointId"}, "a NUL byte")
    b("vpcEndpointId-1MB", one(vpcEndpointId="vpce-" + BIG), {"error": "FRONTDOOR_BINDINGS[0].vpcEndpointId"}, "a 1 MB id")
    b("vpcEndpointId-unicode", one(vpcEndpointId="vpce-０１２３４５６７"), {"error": "FRONTDOOR_BINDINGS[0].vpcEndpointId"}, "fullwidth digits")
    b("second-binding-bad", base + one(vpcEndpointId=7, targetGroupArns=[ARN.replace("frontdoor-endpoint", "other")]), {"error": "FRONTDOOR_BINDINGS[1].vpcEndpointId"}, "the second binding is bad")
    b("duplicate-group", base + base, {"error": "FRONTDOOR_BINDINGS[1].targetGroupArns"}, "the same group and port twice")
    b("binding-not-object", ["vpce-0123456789abcdef0"], {"error": "FRONTDOOR_BINDINGS[0]"}, "a string, not a binding")
    b("object-not-array", base[0], {"error": "FRONTDOOR_BINDINGS"}, "one binding, not an array")
    b("empty-array", [], {"error": "FRONTDOOR_BINDINGS"}, "no binding")
    b("null", None, {"error": "FRONTDOOR_BINDINGS"}, "null")
    b("empty", b"", {"error": "FRONTDOOR_BINDINGS"}, "an empty value (not JSON)")
    b("not-json", b"vpce-0123456789abcdef0=arn", {"error": "FRONTDOOR_BINDINGS"}, "not JSON")


def probe():
    base = {
        "PROBE_URL": "https://api.example.com/health",
        "PROBE_EXPECTED_STATUS": "200",
        "PROBE_TIMEOUT_MS": "3000",
        "PROBE_ATTEMPTS": "2",
        "METRIC_NAMESPACE": "Frontdoor",
    }

    def p(name, changes, expect, mutation):
        config = dict(base)
        for key, value in changes.items():
            if value is REMOVE:
                del config[key]
            else:
                config[key] = value
        add("probe", name, config, {"health-probe": expect}, "template.yaml HealthProbeFunction environment", mutation)

    p("valid", {}, {"ok": True}, "unchanged")
    p("url-missing", {"PROBE_URL": REMOVE}, {"var": "PROBE_URL"}, "removes PROBE_URL")
    p("url-http", {"PROBE_URL": "http://api.example.com/health"}, {"var": "PROBE_URL"}, "plain http")
    p("url-NUL", {"PROBE_URL": "https://api.example.com/\u0000"}, {"ok": True}, "a NUL byte in the path: percent-encoded by the URL parser")
    p("url-1MB", {"PROBE_URL": "https://" + "a" * MB}, {"var": "PROBE_URL"}, "a 1 MB host")
    p("status-word", {"PROBE_EXPECTED_STATUS": "ok"}, {"var": "PROBE_EXPECTED_STATUS"}, "a word")
    p("timeout-negative", {"PROBE_TIMEOUT_MS": "-1"}, {"var": "PROBE_TIMEOUT_MS"}, "negative")
    p("attempts-unicode", {"PROBE_ATTEMPTS": "２"}, {"var": "PROBE_ATTEMPTS"}, "a fullwidth digit")
    p("namespace-1MB", {"METRIC_NAMESPACE": BIG}, {"var": "METRIC_NAMESPACE"}, "a 1 MB namespace")
    p("connect-to-garbage", {"PROBE_CONNECT_TO": "10.0.0.1,not a host!"}, {"var": "PROBE_CONNECT_TO"}, "neither an address nor a host name among the addresses")


def main():
    for directory in ("events", "bindings", "probe"):
        shutil.rmtree(OUT / directory, ignore_errors=True)
        (OUT / directory).mkdir(parents=True)
    custom_resource_events()
    target_sync_events()
    raw_inputs()
    bindings()
    probe()
    manifest = {
        "generator": "tests/hostile/generate.py",
        "regenerate": "python3 tests/hostile/generate.py",
        "files": files,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = {}
    for f in files:
        counts[f["file"].split("/")[0]] = counts.get(f["file"].split("/")[0], 0) + 1
    print(f"{len(files)} files: {counts}")


if __name__ == "__main__":
    main()
