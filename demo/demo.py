"""`make demo`: the whole frontdoor lifecycle on a local AWS emulator.

It builds the workspace as `cargo test --workspace --all-targets` does (so
after `make test-rust` the build compiles nothing), starts moto_server,
provisions what the stack would (a VPC, three private subnets, the execute-api
interface endpoint, an IP target group, the load balancer's security group and
the CloudFront-VPCOrigins-Service-SG group), and runs the four real binaries
against the Lambda Runtime API that `cargo lambda watch` serves, invoked with
the events from events/ filled in with the ids it made. Each step checks what
it claims; the first failed check ends the demo with a non-zero exit that names
the step. Everything it started is stopped by PID on the way out.

Tooling, not product code: boto3 from the venv only provisions, reads and
breaks things on purpose. The functions do the work. Run from the repository
root as `python -m demo.demo`, with tools/ on PYTHONPATH (the Makefile does).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from demo.watch import Watch, target_dir
from frontdoor_dev import ROOT
from frontdoor_dev.dns import FailoverAnswer, ZoneDns
from frontdoor_dev.events import custom_resource_event, event
from frontdoor_dev.moto import PORT, REGION, TEST_CREDENTIALS, StackFixture, failover_stack, start_moto
from frontdoor_dev.processes import Processes, venv_tool
from frontdoor_dev.stand_ins import PrivateApi, ResponseSink

STACK = "frontdoor-demo"
API_HOST = "api.frontdoor.internal"
STALE_IP = "10.99.0.99"
# The on-premises service: its name, its addresses before and after the data
# centre fails over (RFC 1918, outside the demo VPC's 10.0.0.0/16).
ONPREM_HOST = "orders.onprem.example"
ONPREM_BEFORE = ["192.168.50.10", "192.168.50.11"]
ONPREM_AFTER = ["192.168.60.10"]
GRACE_RUNS = 3
# The failover peer of the demo's stack, for `frontdoor status` and `drill`.
PEER_REGION = "eu-west-1"
STEPS = 7
START = time.monotonic()


def unseen_counts(tags: dict[str, str], port: int) -> dict[str, int]:
    """target-sync's no-flap state of a port (crates/frontdoor/src/plan/unseen.rs): its chunk
    tags joined, base64, a version byte, the time of the last counted absence (8 bytes), then
    per address a count byte (high bit: IPv6) and its 4 or 16 bytes."""
    chunks, n = [], 0
    while f"frontdoor:unseen:{port}:{n}" in tags:
        chunks.append(tags[f"frontdoor:unseen:{port}:{n}"])
        n += 1
    data, counts, at = base64.b64decode("".join(chunks)), {}, 9
    while at < len(data):
        count, size = data[at] & 0x7F, 16 if data[at] & 0x80 else 4
        counts[str(ipaddress.ip_address(data[at + 1 : at + 1 + size]))] = count
        at += 1 + size
    return counts


class StepFailed(Exception):
    pass


# ----------------------------------------------------------------- output


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say()
    say(f"== {text} " + "=" * max(3, 76 - len(text)))


def table(headers: list[str], rows: list[list[str]], empty: str = "(none)") -> None:
    if not rows:
        say(f"    {empty}")
        return
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "    " + "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    say(line(headers))
    say(line(["-" * w for w in widths]))
    for row in rows:
        say(line(row))


def check(step: str, ok: bool, what: str) -> None:
    if not ok:
        say(f"    FAILED: {what}")
        raise StepFailed(f"{step}: this did not hold: {what}")
    say(f"    ok: {what}")


def elapsed() -> str:
    return f"{time.monotonic() - START:.1f}s"


# ----------------------------------------------------------------- build


def build() -> None:
    """`cargo build --workspace --all-targets`, with a progress line (a cold build is long).

    `--all-targets` resolves features as `cargo test --workspace --all-targets`
    (`make test-rust`) does, so the two share every artifact: after the tests,
    this build compiles nothing. `--bins` alone, or `cargo lambda watch`
    building each function, would resolve them differently and compile the SDK
    crates again."""
    heading("Build: the workspace, as cargo test builds it (cargo build --workspace --all-targets)")
    cmd = ["cargo", "build", "--workspace", "--all-targets", "--color", "never"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    tty = sys.stdout.isatty()
    compiled, last, tail, t0, shown = 0, "", [], time.monotonic(), 0.0
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    while True:
        events = sel.select(timeout=1.0)
        line = proc.stderr.readline() if events else None
        if line == "" and proc.poll() is not None:
            break
        if line:
            tail = (tail + [line.rstrip()])[-40:]
            if line.lstrip().startswith("Compiling"):
                compiled += 1
                last = line.split()[1]
        now = time.monotonic()
        if compiled and (now - shown >= (1 if tty else 20)):
            shown = now
            text = (
                f"    building... {compiled} crates compiled, {now - t0:.0f}s elapsed, now {last} "
                "(a cold build takes ~10 min on 2 cores; after `make test-rust` or an earlier run, seconds)"
            )
            if tty:
                print("\r" + text[:150].ljust(150), end="", flush=True)
            else:
                say(text)
    if tty and compiled:
        print()
    if proc.wait() != 0:
        say("\n".join(tail))
        raise StepFailed("build: cargo build --workspace --all-targets failed")
    say(f"    built in {time.monotonic() - t0:.0f}s ({compiled} crates compiled)")


# ----------------------------------------------------------------- AWS (moto)


class Stack(StackFixture):
    """What the SAM template would have made, in moto."""

    def __init__(self, moto_url: str) -> None:
        super().__init__(moto_url)
        endpoint = self.endpoint()
        self.vpce = endpoint.id
        self.enis = endpoint.enis
        self.tg = self.target_group("frontdoor-demo-endpoint")
        self.onprem_tg = self.target_group("frontdoor-demo-onprem")
        self.alb_sg = self.security_group("frontdoor-demo-alb", "the internal ALB")
        # AWS creates this group with the first VPC origin in the VPC; moto cannot.
        self.vpc_origin_sg = self.security_group("CloudFront-VPCOrigins-Service-SG", "CloudFront VPC Origins")
        pls = self.ec2.describe_managed_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]
        )
        self.prefix_list = pls["PrefixLists"][0]["PrefixListId"]

    def show_targets(self, title: str) -> dict[tuple[str, int], str]:
        targets = self.targets(self.tg)
        say(f"  {title}: target group {self.tg.split(':')[-1]}")
        rows = []
        for (ip, port), state in sorted(targets.items()):
            eni, subnet, az = self.enis.get(ip, ("-", "-", "-"))
            note = "endpoint ENI" if ip in self.enis else "NOT an endpoint ENI (stale)"
            rows.append([ip, port, state, eni, az, note])
        table(["target IP", "port", "health", "ENI", "AZ", ""], rows, empty="(no targets)")
        return targets

    def show_onprem_targets(self, title: str, answer: list[str]) -> dict[tuple[str, int], str]:
        """The on-premises group's targets, with what target-sync keeps on it
        (the `frontdoor:unseen:<port>:<n>` tags: runs missing from every answer)."""
        targets = self.targets(self.onprem_tg)
        tags = self.elb.describe_tags(ResourceArns=[self.onprem_tg])["TagDescriptions"][0]["Tags"]
        unseen = unseen_counts({t["Key"]: t["Value"] for t in tags}, PORT)
        say(f"  {title}: target group {self.onprem_tg.split(':')[-1]}")
        rows = []
        for (ip, port), state in sorted(targets.items()):
            if ip in answer:
                note = "in the DNS answer"
            else:
                note = f"missing from the answers for {unseen.get(ip, '?')} of {GRACE_RUNS} runs: kept"
            rows.append([ip, port, state, note])
        table(["target IP", "port", "health", ""], rows, empty="(no targets)")
        return targets

    def ingress_rules(self) -> list[dict]:
        rules = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [self.alb_sg]}])[
            "SecurityGroupRules"
        ]
        return [r for r in rules if not r.get("IsEgress")]

    def show_rules(self, title: str) -> list[dict]:
        rules = self.ingress_rules()
        say(f"  {title}: ingress rules of {self.alb_sg} (the load balancer's group)")
        rows = []
        for r in sorted(rules, key=lambda r: r["SecurityGroupRuleId"]):
            if r.get("PrefixListId"):
                src = f"{r['PrefixListId']} (prefix list com.amazonaws.global.cloudfront.origin-facing)"
            elif r.get("ReferencedGroupInfo"):
                gid = r["ReferencedGroupInfo"].get("GroupId")
                src = f"{gid} (CloudFront-VPCOrigins-Service-SG)" if gid == self.vpc_origin_sg else gid
            else:
                src = r.get("CidrIpv4") or r.get("CidrIpv6") or "?"
            ports = f"{r['FromPort']}" if r["FromPort"] == r["ToPort"] else f"{r['FromPort']}-{r['ToPort']}"
            tags = ", ".join(f"{t['Key']}={t['Value']}" for t in r.get("Tags") or [])
            rows.append(
                [
                    r["SecurityGroupRuleId"],
                    r["IpProtocol"],
                    ports,
                    src,
                    "; ".join(x for x in (r.get("Description"), tags) if x) or "-",
                ]
            )
        table(["rule", "protocol", "port", "source", "description / tags"], rows, empty="(no ingress rules)")
        return rules


# ----------------------------------------------------------------- events


def invoke_cfn(
    watch: Watch, sink: ResponseSink, step: str, function: str, name: str, props: dict, create: dict | None = None
) -> dict:
    """Sends events/<name>, filled in, to `function`; for a Delete, of what `create` answered."""
    key = name.removesuffix(".json")
    physical_id = create["PhysicalResourceId"] if create else None
    e = custom_resource_event(name, sink.url(key), f"demo-{key}", props, physical_id)
    e["StackId"] = e["StackId"].replace("/frontdoor/", f"/{STACK}/")
    say(
        f"  -> cargo lambda invoke {function}   ({e['RequestType']} {e['ResourceType']}, "
        f"LogicalResourceId {e['LogicalResourceId']})"
    )
    shown = {k: v for k, v in e["ResourceProperties"].items() if k != "ServiceToken"}
    say(f"     ResourceProperties: {json.dumps(shown)}")
    t0 = time.monotonic()
    _, error = watch.invoke(function, e)
    puts = sink.wait(key, timeout=30)
    check(step, len(puts) == 1, f"exactly one response PUT to the ResponseURL (got {len(puts)})")
    response = json.loads(puts[0]["body"])
    say(
        f"  <- CloudFormation response in {time.monotonic() - t0:.1f}s: Status {response['Status']}, "
        f"PhysicalResourceId {response.get('PhysicalResourceId')}"
    )
    if response.get("Data"):
        say(f"     Data: {json.dumps(response['Data'])}")
    if response["Status"] != "SUCCESS":
        raise StepFailed(
            f"{step}: {function} answered {response['Status']}: {response.get('Reason')}"
            + (f" (invocation error: {error})" if error else "")
        )
    return response


def frontdoor_cli(moto_url: str, watch: Watch, *args: str) -> tuple[int, str]:
    """Runs the operator CLI as an operator would, printing what it prints. It
    reaches health-probe, each Region's observer, through Lambda's Invoke API
    on cargo lambda watch (the SDK's AWS_ENDPOINT_URL_LAMBDA); returns the exit
    code and what it printed."""
    say(f"  $ frontdoor {' '.join(args)}")
    lambda_url = f"http://127.0.0.1:{watch.port}"
    proc = subprocess.run(
        [str(target_dir() / "debug" / "frontdoor"), *args],
        env={**os.environ, **TEST_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_LAMBDA": lambda_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for line in (proc.stdout + proc.stderr).splitlines():
        say(f"    {line}")
    say(f"    (exit {proc.returncode})")
    return proc.returncode, proc.stdout + proc.stderr


# ----------------------------------------------------------------- the story


def main() -> int:
    step = "setup"
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="frontdoor-demo-"))
    sink = api = watch = None
    passed = False
    try:
        say("frontdoor demo: the four functions, for real, against a local AWS emulator (moto_server).")
        say(f"Logs of this run: {workdir} (removed when the demo passes)")
        step = "build"
        build()

        step = "setup"
        heading("Setup: moto_server, and what the stack would have made")
        moto_url = start_moto(procs, workdir, venv_tool("moto_server"))
        say(f"  moto_server listening on {moto_url}")
        os.environ.update(TEST_CREDENTIALS)
        stack = Stack(moto_url)
        table(
            ["resource", "id"],
            [
                ["VPC", stack.vpc],
                *[[f"private subnet ({az})", s] for s, az in stack.subnets],
                ["execute-api interface endpoint", stack.vpce],
                ["IP target group (port 443)", stack.tg.split(":")[-1]],
                ["load balancer's security group", stack.alb_sg],
                ["CloudFront-VPCOrigins-Service-SG", stack.vpc_origin_sg],
                ["prefix list com.amazonaws.global.cloudfront.origin-facing", stack.prefix_list],
            ],
        )
        sink = ResponseSink()
        say(f"  CloudFormation ResponseURL stand-in on http://127.0.0.1:{sink.port}/ (records each PUT)")
        api = PrivateApi(workdir, API_HOST)
        say(
            f"  private API stand-in: https://{API_HOST}:{api.port}/health on 127.0.0.1, "
            "certificate from a throw-away CA"
        )
        bindings = [{"vpcEndpointId": stack.vpce, "targetGroupArns": [stack.tg], "port": PORT}]
        dns = ZoneDns(procs, workdir, target_dir() / "debug" / "zone-dns")
        dns.set(ONPREM_HOST, ONPREM_BEFORE)
        say(f"  zone-dns (the VPC resolver's stand-in) on {dns.address}: {ONPREM_HOST} -> {', '.join(ONPREM_BEFORE)}")
        # Both bindings in one function, as the template's on-premises option configures it.
        bindings.append({"hostname": ONPREM_HOST, "targetGroupArns": [stack.onprem_tg], "port": PORT})
        env = {
            **TEST_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            # cargo lambda watch sends a relative deadline; the custom resources then use this budget.
            "FRONTDOOR_FALLBACK_BUDGET_SECS": "30",
            "FRONTDOOR_BINDINGS": json.dumps(bindings, separators=(",", ":")),
            "FRONTDOOR_DNS_SERVER": dns.address,
            "FRONTDOOR_DNS_GRACE_RUNS": str(GRACE_RUNS),
            # The demo's runs are seconds apart: count each one (the default counts one a 50 s).
            "FRONTDOOR_DNS_GRACE_INTERVAL_SECS": "0",
            "METRIC_NAMESPACE": "FrontdoorDemo",
            "PROBE_URL": f"https://{API_HOST}:{api.port}/health",
            "PROBE_CONNECT_TO": "127.0.0.1",
            "PROBE_CA_BUNDLE": str(api.ca_path),
            "PROBE_TIMEOUT_MS": "2000",
            "PROBE_ATTEMPTS": "2",
            "PROBE_EXPECTED_STATUS": "200",
            "PROBE_NAME": "demo-primary",
        }
        watch = Watch(procs, workdir, env, venv_tool("cargo-lambda"))
        say(f"  cargo lambda watch (Lambda Runtime API emulator) on 127.0.0.1:{watch.port}")
        say(f"  the four function binaries from {target_dir() / 'debug'}, started beside it on its Runtime API:")
        say("    " + ", ".join(f"{name} (pid {proc.pid})" for name, proc in watch.functions.items()))
        say(f"  target-sync's FRONTDOOR_BINDINGS = {env['FRONTDOOR_BINDINGS']}")
        say(f"  target-sync's FRONTDOOR_DNS_SERVER = {dns.address}")
        endpoint_ips = set(stack.enis)

        # ---------------------------------------------------------- 1
        step = "step 1 (Create Custom::EndpointTargets)"
        heading(f"Step 1/{STEPS}: Create Custom::EndpointTargets (eni-targets)")
        say("  The load balancer needs the endpoint's ENI IPs as targets; CloudFormation cannot read them.")
        stack.show_targets("before")
        et_props = {"VpcEndpointId": stack.vpce, "TargetGroupArns": [stack.tg], "Port": str(PORT)}
        created = invoke_cfn(watch, sink, step, "eni-targets", "endpoint-targets-create.json", et_props)
        targets = stack.show_targets("after")
        check(
            step,
            set(targets) == {(ip, PORT) for ip in endpoint_ips},
            f"the target group holds exactly the endpoint's {len(endpoint_ips)} ENI IPs on port {PORT}",
        )
        check(step, created.get("Data", {}).get("IpCount") in ("3", 3), "Data.IpCount is 3 (one IP per AZ)")

        # ---------------------------------------------------------- 2
        step = "step 2 (Create Custom::PrefixListIngress)"
        heading(f"Step 2/{STEPS}: Create Custom::PrefixListIngress (prefix-list-ingress)")
        say("  The ALB's group must admit CloudFront: its origin-facing prefix list and the VPC Origins group.")
        stack.show_rules("before")
        pl_props = {
            "SecurityGroupId": stack.alb_sg,
            "VpcId": stack.vpc,
            "Port": str(PORT),
            "AllowPrefixList": "true",
            "AllowVpcOrigin": "true",
        }
        ingress = invoke_cfn(watch, sink, step, "prefix-list-ingress", "prefix-list-ingress-create.json", pl_props)
        rules = stack.show_rules("after")
        check(
            step,
            any(r.get("PrefixListId") == stack.prefix_list and r["FromPort"] == PORT for r in rules),
            f"ingress on tcp {PORT} from prefix list {stack.prefix_list}",
        )
        check(
            step,
            any(
                (r.get("ReferencedGroupInfo") or {}).get("GroupId") == stack.vpc_origin_sg and r["FromPort"] == PORT
                for r in rules
            ),
            f"ingress on tcp {PORT} from CloudFront-VPCOrigins-Service-SG {stack.vpc_origin_sg}",
        )

        # ---------------------------------------------------------- 3
        step = "step 3 (an on-premises service by DNS name)"
        heading(f"Step 3/{STEPS}: An on-premises service known by a DNS name (target-sync's hostname binding)")
        say(f"  {ONPREM_HOST} is a service in the data centre, behind the API's VPC link and the on-premises NLB.")
        say("  -> cargo lambda invoke target-sync   (the 1-minute schedule of the on-premises option: scheduled.json)")
        result, error = watch.invoke("target-sync", event("scheduled.json"))
        if error:
            raise StepFailed(f"{step}: target-sync failed: {error}")
        say(f"  <- {json.dumps(result)}")
        targets = stack.show_onprem_targets("after the first run", ONPREM_BEFORE)
        check(
            step,
            set(targets) == {(ip, PORT) for ip in ONPREM_BEFORE},
            f"the group holds the name's {len(ONPREM_BEFORE)} addresses",
        )
        say(
            "     (outside the VPC's subnets, so registered with AvailabilityZone all; moto reports no zones, "
            "tests/target_sync.rs checks the request)"
        )
        dns.set(ONPREM_HOST, ONPREM_AFTER)
        say(f"  The data centre fails over: {ONPREM_HOST} now answers {', '.join(ONPREM_AFTER)}.")
        for run in range(1, GRACE_RUNS + 1):
            say(f"  -> cargo lambda invoke target-sync   (run {run} after the change)")
            result, error = watch.invoke("target-sync", event("scheduled.json"))
            if error:
                raise StepFailed(f"{step}: target-sync failed on run {run}: {error}")
            say(f"  <- {json.dumps(result)}")
            targets = stack.show_onprem_targets(f"after run {run}", ONPREM_AFTER)
            expected = set(ONPREM_AFTER) | (set(ONPREM_BEFORE) if run < GRACE_RUNS else set())
            check(
                step,
                set(targets) == {(ip, PORT) for ip in expected},
                f"the new address is in from the first run; the old ones stay until {GRACE_RUNS} runs without them"
                if run < GRACE_RUNS
                else f"after {GRACE_RUNS} runs without them, the old addresses are gone",
            )

        # ---------------------------------------------------------- 4
        step = "step 4 (drift repaired by target-sync)"
        heading(f"Step 4/{STEPS}: Drift, repaired by target-sync")
        gone = sorted(endpoint_ips)[0]
        say(
            f"  By hand: deregister {gone} (an endpoint ENI) and register {STALE_IP} (an address that answers nothing)."
        )
        stack.deregister(stack.tg, [gone])
        stack.register(stack.tg, [STALE_IP])
        stack.show_targets("drifted")
        e = event("target-sync-modify-vpc-endpoint.json")
        e["detail"]["requestParameters"]["ModifyVpcEndpointRequest"]["VpcEndpointId"] = stack.vpce
        e["region"] = e["detail"]["awsRegion"] = REGION
        say(f"  -> cargo lambda invoke target-sync   (EventBridge: CloudTrail ModifyVpcEndpoint of {stack.vpce})")
        result, error = watch.invoke("target-sync", e)
        if error:
            raise StepFailed(f"{step}: target-sync failed: {error}")
        say(f"  <- {json.dumps(result)}")
        targets = stack.show_targets("after target-sync")
        check(
            step,
            set(targets) == {(ip, PORT) for ip in endpoint_ips},
            f"whole again: {gone} is back and {STALE_IP} is gone",
        )
        say("  -> cargo lambda invoke target-sync   (the 5-minute schedule: events/scheduled.json)")
        result, error = watch.invoke("target-sync", event("scheduled.json"))
        if error:
            raise StepFailed(f"{step}: target-sync (scheduled) failed: {error}")
        say(f"  <- {json.dumps(result)}")
        reports = (result or {}).get("bindings", [])
        check(
            step,
            len(reports) == 2 and all(b.get("registered") == 0 and b.get("deregistered") == 0 for b in reports),
            "in sync now: nothing registered or deregistered, for the endpoint and for the hostname",
        )

        # ---------------------------------------------------------- 5
        step = "step 5 (health-probe)"
        heading(f"Step 5/{STEPS}: health-probe, from inside the VPC, of the private API")
        say(f"  PROBE_URL={env['PROBE_URL']}  PROBE_CONNECT_TO=127.0.0.1  PROBE_CA_BUNDLE=<the throw-away CA>")

        def probe_result(res: dict) -> str:
            rounded = lambda v: None if v is None else round(v, 1)  # noqa: E731
            return (
                f"healthy={res.get('healthy')} status={res.get('status')} "
                f"latency_ms={rounded(res.get('latency_ms'))} "
                f"certificate_days_remaining={rounded(res.get('certificate_days_remaining'))}"
                + (f" error={res.get('error')!r}" if res.get("error") else "")
            )

        for label, expect in (("the API is up", True), ("the API is stopped", False)):
            if not expect:
                api.stop()
                say(f"  The private API stand-in is stopped (port {api.port} now refuses connections).")
            say(f"  -> cargo lambda invoke health-probe   ({label}; events/scheduled.json)")
            offset = watch.log_offset()
            result, error = watch.invoke("health-probe", event("scheduled.json"))
            if error:
                raise StepFailed(f"{step}: health-probe failed ({label}): {error}")
            say(f"  <- {probe_result(result)}")
            time.sleep(0.3)  # let the function's stdout reach the log
            emf = [ln for ln in watch.log_since(offset).splitlines() if ln.startswith("{") and '"_aws"' in ln]
            say("     EMF lines on stdout (CloudWatch turns them into metrics; the alarm watches Healthy):")
            for ln in emf:
                say(f"       {ln}")
            check(
                step,
                result.get("healthy") is expect,
                f"{label}: the probe reads " + ("healthy" if expect else "unhealthy"),
            )
            healthy_values = [json.loads(ln).get("Healthy") for ln in emf]
            check(step, (1 if expect else 0) in healthy_values, f"an EMF line with Healthy={1 if expect else 0}")

        # ---------------------------------------------------------- 6
        step = "step 6 (frontdoor status, plan and drill)"
        heading(f"Step 6/{STEPS}: The operator's view: frontdoor status, plan and drill")
        failover = failover_stack(
            moto_url,
            stack,
            "frontdoor-demo",
            API_HOST,
            {
                "VpcEndpointId": stack.vpce,
                "TargetGroupArn": stack.tg,
                "LoadBalancerSecurityGroupId": stack.alb_sg,
                # The function under cargo lambda watch is named after its binary.
                "ObserverFunctionName": "health-probe",
            },
            PEER_REGION,
        )
        # Each Region's load balancer is the API stand-in on an address of its own; the
        # failover name answers with the one Route 53 would choose, from the records and checks.
        lb_addresses = {
            failover.load_balancers[REGION]: ["127.0.0.1"],
            failover.load_balancers[PEER_REGION]: ["127.0.0.2"],
        }
        for lb, addresses in lb_addresses.items():
            dns.set(lb, addresses)
        api.serve_on("127.0.0.1")
        api.serve_on("127.0.0.2")
        route53 = boto3.client("route53", endpoint_url=moto_url, region_name=REGION)
        answer = FailoverAnswer(dns, route53, failover.zone, API_HOST, lb_addresses)
        say(
            f"  The private API runs again, as {REGION}'s load balancer (127.0.0.1) and {PEER_REGION}'s (127.0.0.2); "
            f"zone-dns answers {API_HOST} as Route 53 would, now {', '.join(answer.answer)}."
        )
        say(
            f"  A stand-in stack {failover.name} holds the template's outputs; Route 53 has this Region's "
            f"health check {failover.health_check} (PRIMARY) and {PEER_REGION}'s "
            f"{failover.peer_health_check} (SECONDARY)."
        )
        code, text = frontdoor_cli(moto_url, watch, "status", "--stack", failover.name, "--region", REGION)
        check(step, code == 0, "frontdoor status: whole and healthy (exit 0)")
        check(
            step,
            f"inside the VPC: {API_HOST} answers [127.0.0.1], {REGION}'s load balancer" in text,
            "status shows the answer health-probe saw inside the VPC: this Region's load balancer",
        )
        code, _ = frontdoor_cli(moto_url, watch, "plan", "--stack", failover.name)
        check(step, code == 0, "frontdoor plan: target-sync would write nothing (exit 0)")
        code, text = frontdoor_cli(
            moto_url, watch, "drill", "--stack", failover.name, "--region", REGION, "--minutes", "1", "--yes"
        )
        check(step, code == 0, "frontdoor drill: PASSED, and the check was restored (exit 0)")
        check(
            step,
            f"in the VPC: {API_HOST} answers [127.0.0.2], {PEER_REGION}'s load balancer; "
            "the request through it: served (200)" in text,
            f"the drill saw the answer move to {PEER_REGION}'s load balancer and a request through it served",
        )
        check(step, "answer back in" in text and "not seen" not in text, "every step of the timeline was seen")
        answer.stop()

        # ---------------------------------------------------------- 7
        step = "step 7 (Delete)"
        heading(f"Step 7/{STEPS}: Delete events: the stack goes away, and so does what it added")
        invoke_cfn(watch, sink, step, "eni-targets", "endpoint-targets-delete.json", et_props, created)
        targets = stack.show_targets("after Delete")
        check(step, not targets, "the target group holds no target")
        invoke_cfn(watch, sink, step, "prefix-list-ingress", "prefix-list-ingress-delete.json", pl_props, ingress)
        rules = stack.show_rules("after Delete")
        check(step, not any(r.get("PrefixListId") == stack.prefix_list for r in rules), "the prefix-list rule is gone")
        check(
            step,
            not any((r.get("ReferencedGroupInfo") or {}).get("GroupId") == stack.vpc_origin_sg for r in rules),
            "the VPC Origins rule is gone",
        )

        code, _ = frontdoor_cli(moto_url, watch, "status", "--stack", failover.name, "--region", REGION)
        check(step, code == 2, "frontdoor status now: unhealthy, the target group is empty (exit 2)")

        step = "teardown"
        heading("Done")
        say(f"  All {STEPS} steps passed in {elapsed()} (build included).")
        passed = True
        return 0
    except StepFailed as failure:
        if watch is not None:
            say("\n  The functions' last output (cargo-lambda-watch.log):")
            for line in watch.log.read_text(errors="replace").splitlines()[-15:]:
                say(f"    | {line}")
        say()
        say(f"DEMO FAILED at {failure}")
        say(f"  logs: {workdir} (cargo-lambda-watch.log has the functions' output)")
        return 1
    except SystemExit as interrupted:
        say(f"\nDEMO INTERRUPTED during {step}")
        return int(interrupted.code or 1)
    except Exception as unexpected:  # noqa: BLE001
        say()
        say(f"DEMO FAILED at {step}: {type(unexpected).__name__}: {unexpected}")
        say(f"  logs: {workdir}")
        return 1
    finally:
        if api is not None:
            api.stop()
        if sink is not None:
            sink.close()
        stopped = procs.stop_all()
        if stopped:
            say(f"  stopped: {', '.join(stopped)}")
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
