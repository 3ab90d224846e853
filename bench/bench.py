"""`make bench`: measures the four functions and writes docs/benchmarks.md.

Run by the Makefile after `cargo build --release -p <each function>` (the native
release binaries that are timed) and `cargo lambda build --release --arm64` (the
arm64 `bootstrap` files that are sized). Everything runs against one
moto_server on 127.0.0.1, started and stopped here by PID. Run from the
repository root as `python -m bench.bench`, with tools/ on PYTHONPATH (the
Makefile does).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.init_anatomy import CONNECTORS, LOADER, OTHER, PHASES, ROOTS, STS, profile_init, trust_store_opens
from bench.recording_proxy import RecordingProxy, is_write
from bench.runtime_api import run_function
from frontdoor_dev import ROOT
from frontdoor_dev.dns import ZoneDns
from frontdoor_dev.events import custom_resource_event, event
from frontdoor_dev.moto import PORT, TEST_CREDENTIALS, StackFixture, start_moto
from frontdoor_dev.processes import Processes, venv_tool
from frontdoor_dev.stand_ins import PrivateApi, ResponseSink

HERE = Path(__file__).resolve().parent
FUNCTIONS = ["eni-targets", "prefix-list-ingress", "target-sync", "health-probe"]
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/frontdoor/target"))
MIB = 1 << 20
# The "6 MB", read as decimal megabytes: the stricter reading (6 MiB is 6,291,456).
LIMIT_BOOTSTRAP = 6_000_000
LIMIT_RSS_KIB = 32 * 1024
LIMIT_INIT_MS = 10.0
PROFILE_RESULTS = HERE / "results" / "profile-variants.json"


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# ------------------------------------------------------------------ machine


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    import boto3
    import moto

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / MIB, 1),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "rustc": version(["rustc", "--version"]),
        "commit": version(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"]),
        "cargo_lambda": version([venv_tool("cargo-lambda"), "lambda", "--version"]),
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ------------------------------------------------------------------ timing arms


def timing_arms(fx: StackFixture, sink: ResponseSink, api: PrivateApi, moto_url: str, warm: int) -> dict:
    """name -> (cmd, env, events, before): every arm gets 1 cold + `warm` warm invocations."""
    endpoint = fx.endpoint()
    tg_et = fx.target_group("bench-eni-targets")
    tg_py = fx.target_group("bench-python-baseline")
    tg_sync = fx.target_group("bench-target-sync")
    fx.register(tg_sync, endpoint.ips)  # target-sync is timed in sync
    sg = fx.security_group("bench-alb")
    base_env = {**TEST_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}
    seq = iter(range(10**9))

    last_create: dict[str, str] = {}

    def cfn(name: str, props: dict, delete_of: str | None = None):
        """An event maker; a Delete carries the id that the last Create of `delete_of` answered."""

        def make(_i):
            key = f"r{next(seq)}"
            physical_id = None
            if delete_of:
                put = sink.wait(last_create[delete_of])[-1]
                physical_id = json.loads(put["body"])["PhysicalResourceId"]
            e = custom_resource_event(name, sink.url(key), key, props, physical_id)
            if not delete_of and e["RequestType"] == "Create":
                last_create[name] = key
            return e

        return make

    et_props = {"VpcEndpointId": endpoint.id, "TargetGroupArns": [tg_et], "Port": str(PORT)}
    py_props = {
        "VpcEndpointId": endpoint.id,
        "NetworkInterfaceIds": endpoint.eni_ids,
        "TargetGroupArns": [tg_py],
        "Port": str(PORT),
    }
    pl_props = {
        "SecurityGroupId": sg,
        "VpcId": fx.vpc,
        "Port": str(PORT),
        "AllowPrefixList": "true",
        "AllowVpcOrigin": "false",
    }
    # prefix-list-ingress: Create, then Delete, Create, … ending on a Delete, so
    # that every process starts from the same empty group.
    pl_events = [
        cfn("prefix-list-ingress-create.json", pl_props)
        if i % 2 == 0
        else cfn("prefix-list-ingress-delete.json", pl_props, "prefix-list-ingress-create.json")
        for i in range(1 + warm)
    ]
    release = TARGET_DIR / "release"
    # As Lambda's Python runtime finds the handler: its task root is on PYTHONPATH.
    task_root = HERE / "python_baseline"
    python_env = {**base_env, "LAMBDA_TASK_ROOT": str(task_root), "PYTHONPATH": str(task_root)}
    return {
        # Every Create starts from an empty target group, in both arms.
        "eni-targets": (
            [str(release / "eni-targets")],
            {**base_env, "FRONTDOOR_FALLBACK_BUDGET_SECS": "30"},
            [cfn("endpoint-targets-create.json", et_props)] * (1 + warm),
            lambda i: fx.clear(tg_et),
        ),
        "python-baseline": (
            [sys.executable, str(task_root / "bootstrap.py")],
            python_env,
            [cfn("endpoint-targets-create.json", py_props)] * (1 + warm),
            lambda i: fx.clear(tg_py),
        ),
        "prefix-list-ingress": (
            [str(release / "prefix-list-ingress")],
            {**base_env, "FRONTDOOR_FALLBACK_BUDGET_SECS": "30"},
            pl_events,
            None,
        ),
        "target-sync": (
            [str(release / "target-sync")],
            {
                **base_env,
                "FRONTDOOR_BINDINGS": json.dumps(
                    [{"vpcEndpointId": endpoint.id, "targetGroupArns": [tg_sync], "port": PORT}]
                ),
            },
            [event("scheduled.json")] * (1 + warm),
            None,
        ),
        "health-probe": (
            [str(release / "health-probe")],
            {
                "PROBE_URL": f"https://{api.hostname}:{api.port}/health",
                "PROBE_CONNECT_TO": "127.0.0.1",
                "PROBE_CA_BUNDLE": str(api.ca_path),
                "PROBE_NAME": "bench",
            },
            [event("scheduled.json")] * (1 + warm),
            None,
        ),
    }


def measure_timings(arms: dict, runs: int, logdir: Path, sink: ResponseSink) -> dict:
    samples = {name: {"init": [], "init_cpu": [], "cold": [], "warm": [], "rss": []} for name in arms}
    for r in range(runs):
        for name, (cmd, env, events, before) in arms.items():  # interleaved, to spread any drift
            run = run_function(cmd, env, events, logdir / f"{name}.log", name=name, before=before)
            s = samples[name]
            s["init"].append(run.init_ms)
            s["init_cpu"].append(run.init_cpu_ms)
            s["cold"].append(run.durations_ms[0])
            s["warm"].append(median(run.durations_ms[1:]))
            s["rss"].append(run.peak_rss_kib)
        log(
            f"run {r + 1}/{runs}: init "
            + ", ".join(f"{n} {samples[n]['init'][-1]:.0f} ms ({samples[n]['init_cpu'][-1]:.0f} ms CPU)" for n in arms)
        )
    # Every custom-resource invocation must have answered SUCCESS.
    failed = [
        (path, p["body"][:200])
        for path, puts in sink.puts.items()
        for p in puts
        if json.loads(p["body"])["Status"] != "SUCCESS"
    ]
    if failed:
        raise RuntimeError(f"custom-resource responses that were not SUCCESS: {failed[:3]}")
    return samples


BASELINE_SUFFIX = " (baseline)"


def baseline_arm(name: str) -> str:
    return name + BASELINE_SUFFIX


def check_baseline(baseline: Path) -> None:
    """The baseline must be other binaries than today's: cargo uplifts into one
    release folder, so a mix-up would time the same code twice."""
    for name in FUNCTIONS:
        ours, theirs = TARGET_DIR / "release" / name, baseline / name
        if not theirs.exists():
            raise RuntimeError(f"missing {theirs}: `make bench` builds it")
        if ours.read_bytes() == theirs.read_bytes():
            raise RuntimeError(f"{ours} is the baseline's own binary: rebuild today's (`make bench` does)")


def measure_anatomy(arms: dict, t: dict, logdir: Path, symbols: Path | None, profile_runs: int) -> dict:
    """Trust store opens of every arm, and init's CPU profile of today's functions."""
    opens = {}
    for name, (cmd, env, events, before) in arms.items():
        if name == "python-baseline":
            continue
        if before:
            before(0)
        opens[name] = trust_store_opens(cmd, env, events[:2], logdir, name.replace(" ", "-"))
    log("trust store opens: " + ", ".join(f"{n} {o['bundle_total'] if o else '-'}" for n, o in opens.items()))
    profiles = {}
    if symbols:
        for name in FUNCTIONS:
            _, env, _, _ = arms[name]
            profile = profile_init([str(symbols / name)], env, logdir, name, profile_runs)
            if profile:
                profile["init_cpu_ms"] = median(t[name]["init_cpu"])
                profiles[name] = profile
                log(f"init profile of {name}: {profile['samples']} samples")
    return {"opens": opens, "profiles": profiles}


def count_calls(arms: dict, moto_url: str, logdir: Path) -> dict:
    """AWS API calls per invocation of each arm (one extra, untimed process through the proxy)."""
    proxy = RecordingProxy(moto_url)
    out = {}
    try:
        for name, (cmd, env, events, before) in arms.items():
            seen = []

            def b(i, before=before):
                if before:
                    before(i)
                proxy.take()

            env = {**env, "AWS_ENDPOINT_URL": proxy.url} if "AWS_ENDPOINT_URL" in env else env
            run_function(
                cmd,
                env,
                events[:2],
                logdir / f"{name}-calls.log",
                name=name,
                before=b,
                after=lambda i, inv, seen=seen: seen.append(dict(proxy.take())),
            )
            out[name] = seen
    finally:
        proxy.close()
    return out


# ------------------------------------------------------------------ target-sync API calls


def measure_sync(
    fx: StackFixture, moto_url: str, logdir: Path, sizes=(1, 10, 100), runs: int = 3, warm: int = 4
) -> dict:
    proxy = RecordingProxy(moto_url)
    try:
        return {n: measure_sync_size(fx, proxy, moto_url, logdir, n, runs, warm) for n in sizes}
    finally:
        proxy.close()


def measure_sync_size(
    fx: StackFixture, proxy: RecordingProxy, moto_url: str, logdir: Path, n: int, runs: int, warm: int
) -> dict:
    """target-sync over `n` new bindings: the calls of one process, the wall times of `runs` others."""
    bindings, first = [], None
    for i in range(n):
        vpc_endpoint = fx.endpoint()
        tg = fx.target_group(f"bench-sync-{n}-{i}")
        fx.register(tg, vpc_endpoint.ips)
        bindings.append({"vpcEndpointId": vpc_endpoint.id, "targetGroupArns": [tg], "port": PORT})
        first = first or (tg, vpc_endpoint.ips)
    env = {**TEST_CREDENTIALS, "FRONTDOOR_BINDINGS": json.dumps(bindings, separators=(",", ":"))}
    tg0, ips0 = first
    # Invocation 0: in sync (cold). 1: one binding drifted. 2…: in sync (warm).
    phases = ["in sync (cold)", "one binding drifted"] + ["in sync (warm)"] * warm
    counts, walls, rss = {}, {p: [] for p in set(phases)}, []
    summaries = {}

    def before(i):
        proxy.take()
        if i == 1:
            fx.deregister(tg0, [ips0[0]])
            fx.register(tg0, ["10.99.0.99"])

    def after(i, inv):
        calls = proxy.take()
        counts.setdefault(phases[i], calls)
        summaries.setdefault(phases[i], json.loads(inv.body))

    # The first process goes through the recording proxy, for the counts; the
    # others straight to moto, for the wall times.
    for r in range(1 + runs):
        endpoint = proxy.url if r == 0 else moto_url
        run = run_function(
            [str(TARGET_DIR / "release" / "target-sync")],
            {**env, "AWS_ENDPOINT_URL": endpoint},
            [event("scheduled.json")] * len(phases),
            logdir / f"target-sync-{n}.log",
            name="target-sync",
            before=before,
            after=after,
            timeout=300,
        )
        rss.append(run.peak_rss_kib)
        if r > 0:
            for phase, ms in zip(phases, run.durations_ms, strict=True):
                walls[phase].append(ms)
    drifted = summaries["one binding drifted"]["bindings"]
    regs = sum(b.get("registered", 0) for b in drifted)
    deregs = sum(b.get("deregistered", 0) for b in drifted)
    if (regs, deregs) != (1, 1):
        raise RuntimeError(f"target-sync with {n} bindings repaired {regs}/{deregs}, not 1/1")
    log(f"target-sync {n} bindings: " + "; ".join(f"{p}: {sum(c.values())} calls" for p, c in counts.items()))
    return {
        "targets": sum(len(b["targetGroupArns"]) for b in bindings) * 3,
        "counts": {p: dict(c) for p, c in counts.items()},
        "wall_ms": {p: median(v) for p, v in walls.items()},
        "peak_rss_kib": max(rss),
        "bindings_bytes": len(env["FRONTDOOR_BINDINGS"]),
    }


HOSTNAME = "orders.onprem.example"
HOSTNAME_ADDRESSES = ["192.168.50.10", "192.168.50.11"]


def measure_hostname_sync(fx: StackFixture, moto_url: str, logdir: Path, procs: Processes, warm: int = 4) -> dict:
    """target-sync over one hostname binding whose group already holds the name's
    addresses (in sync): the calls of each invocation, through the recording proxy,
    and their wall times. The name is served by zone-dns (FRONTDOOR_DNS_SERVER)."""
    dns = ZoneDns(procs, logdir, TARGET_DIR / "release" / "zone-dns")
    dns.set(HOSTNAME, HOSTNAME_ADDRESSES)
    tg = fx.target_group("bench-sync-hostname")
    fx.register(tg, HOSTNAME_ADDRESSES)
    binding = {"hostname": HOSTNAME, "targetGroupArns": [tg], "port": PORT}
    proxy = RecordingProxy(moto_url)
    phases = ["in sync (cold)"] + ["in sync (warm)"] * warm
    counts, summaries = {}, {}
    try:

        def after(i, inv):
            counts.setdefault(phases[i], proxy.take())
            summaries.setdefault(phases[i], json.loads(inv.body))

        proxy.take()
        run = run_function(
            [str(TARGET_DIR / "release" / "target-sync")],
            {
                **TEST_CREDENTIALS,
                "AWS_ENDPOINT_URL": proxy.url,
                "FRONTDOOR_BINDINGS": json.dumps([binding]),
                "FRONTDOOR_DNS_SERVER": dns.address,
            },
            [event("scheduled.json")] * len(phases),
            logdir / "target-sync-hostname.log",
            name="target-sync",
            after=after,
        )
    finally:
        proxy.close()
    report = summaries["in sync (cold)"]["bindings"][0]
    if report.get("unchanged") != len(HOSTNAME_ADDRESSES) or report.get("registered") or report.get("skipped"):
        raise RuntimeError(f"the hostname binding was not in sync: {report}")
    walls = {p: [] for p in set(phases)}
    for phase, ms in zip(phases, run.durations_ms, strict=True):
        walls[phase].append(ms)
    log("target-sync hostname binding: " + "; ".join(f"{p}: {dict(c)}" for p, c in counts.items()))
    return {
        "targets": len(HOSTNAME_ADDRESSES),
        "counts": {p: dict(c) for p, c in counts.items()},
        "wall_ms": {p: median(v) for p, v in walls.items()},
        "peak_rss_kib": run.peak_rss_kib,
    }


# ------------------------------------------------------------------ sizes


def sizes(logdir: Path) -> dict:
    out = {}
    for name in FUNCTIONS:
        bootstrap = TARGET_DIR / "lambda" / name / "bootstrap"
        if not bootstrap.exists():
            out[name] = None
            continue
        head = bootstrap.read_bytes()[:20]
        arch = {183: "arm64", 62: "x86_64"}.get(int.from_bytes(head[18:20], "little"), "?")
        zpath = logdir / f"{name}.zip"
        # As `sam build`/`cargo lambda build --output-format zip` package it: deflate.
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, bootstrap.read_bytes())
        out[name] = {
            "bootstrap": bootstrap.stat().st_size,
            "zip": zpath.stat().st_size,
            "arch": arch,
            "built": datetime.datetime.fromtimestamp(bootstrap.stat().st_mtime).strftime("%Y-%m-%d %H:%M"),
        }
    return out


# ------------------------------------------------------------------ report


def mib(n: int) -> str:
    return f"{n / MIB:.2f} MiB"


def ok(flag: bool) -> str:
    return "yes" if flag else "**NO**"


def render(
    m: dict,
    t: dict,
    calls: dict,
    s: dict,
    sync: dict,
    hostname: dict,
    profiles: dict | None,
    runs: int,
    warm: int,
    anatomy: dict | None = None,
) -> str:
    L = []
    add = L.append
    ours = [f for f in FUNCTIONS if f in t]
    py = t["python-baseline"]
    py_init = median(py["init"])
    add("# Benchmarks")
    add("")
    add(
        "Generated by `make bench` (`bench/bench.py`); do not edit by hand. Every number is "
        "measured in the same run, against the same moto_server, on this machine:"
    )
    add("")
    add("| machine | |")
    add("|---|---|")
    add(f"| CPU | {m['cpu']}, {m['nproc']} cores (`nproc`), {m['arch']} |")
    add(f"| memory | {m['memory_gib']} GiB |")
    add(f"| kernel | Linux {m['kernel']} |")
    add(
        f"| toolchain | {m['rustc']}; {m['cargo_lambda']}; Python {m['python']}, boto3 {m['boto3']}, moto {m['moto']} |"
    )
    add(f"| load average at start | {' '.join(m['loadavg'])} |")
    add(f"| date | {m['date']} |")
    add(f"| commit | `{m['commit']}` |")
    add("")
    add("## Initialisation, invocation and memory")
    add("")
    add(
        f"Each function is the native **release** binary (`cargo build --release -p <function>`; Lambda runs the "
        f"arm64 build, this machine is {m['arch']}), started {runs} times as a fresh process under a small "
        "Lambda Runtime API emulator (`bench/runtime_api.py`) that records the timestamps. Per process: one cold "
        f"invocation, then {warm} warm ones. Medians over the {runs} processes."
    )
    add("")
    add("- **init**: from just before the process is spawned to its first `GET /2018-06-01/runtime/invocation/next`.")
    add(
        "- **init CPU**: the on-CPU time of all the process's threads up to that moment "
        "(`/proc/<pid>/task/*/schedstat`); "
        "unlike wall time, it does not grow when other processes compete for the two cores."
    )
    add(
        "- **cold / warm**: from the event handed out by `next` to the arrival of the response, against moto "
        "(health-probe: against a local HTTPS server)."
    )
    add(
        "- **AWS calls**: counted in one more process through the recording proxy (below). "
        "`prefix-list-ingress` alternates Create and Delete (its warm invocations are half Deletes), so that "
        "every process starts from the same empty group; the other custom resource's invocations are all Creates "
        "on an emptied target group."
    )
    add("- **peak RSS**: `VmHWM` of the process after its last invocation; the worst of the runs is shown too.")
    add("")
    add(
        "| function | init (ms) | init CPU (ms) | cold invocation (ms) | warm invocation (ms) "
        "| AWS calls, cold / warm | peak RSS, median (MiB) | peak RSS, max (MiB) |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ours + ["python-baseline"]:
        x = t[name]
        label = f"`{name}`" if name != "python-baseline" else "Python/boto3 baseline (eni-targets' Create)"
        calls_cold_warm = " / ".join(str(sum(c.values())) for c in calls.get(name, []))
        add(
            f"| {label} | {median(x['init']):.1f} | {median(x['init_cpu']):.1f} | {median(x['cold']):.1f} "
            f"| {median(x['warm']):.1f} | {calls_cold_warm} | {median(x['rss']) / 1024:.1f} "
            f"| {max(x['rss']) / 1024:.1f} |"
        )
    add("")
    et = t["eni-targets"]
    add(
        "**Ours against the Python baseline**, both doing the Create of `Custom::EndpointTargets` "
        "(every Create starts from an empty target group):"
    )
    add("")
    add("| | `eni-targets` | Python baseline | Python ÷ ours |")
    add("|---|---:|---:|---:|")
    for key, label in (
        ("init", "init (ms)"),
        ("init_cpu", "init CPU (ms)"),
        ("cold", "cold Create (ms)"),
        ("warm", "warm Create (ms)"),
    ):
        a, b = median(et[key]), median(py[key])
        add(f"| {label} | {a:.1f} | {b:.1f} | {b / a:.1f}× |")
    a, b = median(et["rss"]) / 1024, median(py["rss"]) / 1024
    add(f"| peak RSS (MiB) | {a:.1f} | {b:.1f} | {b / a:.1f}× |")
    add("")

    if anatomy:
        render_anatomy(add, t, anatomy)

    def actions(name):
        c = (calls.get(name) or [{}])[-1]
        return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"

    add(
        f"An invocation against moto costs mostly moto's time, a few milliseconds per call, so the duration of a "
        f"Create follows its number of calls more than the language: `eni-targets` makes {actions('eni-targets')} "
        f"(it checks the endpoint and skips targets already registered); the baseline makes "
        f"{actions('python-baseline')}. Against real AWS, where a call takes tens of milliseconds, both are "
        "bounded by the calls too. Where Rust wins is before the first call: initialisation, and memory."
    )
    add("")
    add(
        "The baseline (`bench/python_baseline/`) is written the way the public sample custom resources are: "
        "boto3 clients made at import, one `describe_network_interfaces` on the ENI ids handed in by the "
        "template, one `register_targets`, and cfnresponse's PUT to the `ResponseURL` with urllib3. It runs "
        "under the same emulator through a minimal Lambda-like loop (`bootstrap.py`), so its init is the "
        "import of boto3 and the making of two clients, as in the managed runtime. `eni-targets` makes one "
        "call more (it describes the endpoint rather than trust the template's ENI list) and answers with "
        "every IP. Init ratios against the baseline, each function's init median divided into the "
        f"baseline's {py_init:.0f} ms:"
    )
    add("")
    py_cpu = median(py["init_cpu"])
    add("| function | init (ms) | baseline ÷ function | init CPU (ms) | baseline ÷ function, CPU |")
    add("|---|---:|---:|---:|---:|")
    for name in ours:
        add(
            f"| `{name}` | {median(t[name]['init']):.1f} | {py_init / median(t[name]['init']):.0f}× | "
            f"{median(t[name]['init_cpu']):.1f} | {py_cpu / median(t[name]['init_cpu']):.0f}× |"
        )
    add("")

    add("## Size of the arm64 `bootstrap` and its zip")
    add("")
    add(
        "From `cargo lambda build --release --arm64` (zig as the cross-linker); the zip is the deployment "
        "package, `bootstrap` alone, deflated. Limit: 6 MB per `bootstrap`, read strictly as 6,000,000 bytes "
        "(6 MiB would be 6,291,456)."
    )
    add("")
    add("| function | bootstrap (bytes) | bootstrap | zip (bytes) | zip | ≤ 6,000,000 bytes |")
    add("|---|---:|---:|---:|---:|:---:|")
    for name in FUNCTIONS:
        x = s.get(name)
        if not x:
            add(f"| `{name}` | not built | | | | |")
            continue
        arch = "" if x["arch"] == "arm64" else f" ({x['arch']}!)"
        add(
            f"| `{name}`{arch} | {x['bootstrap']:,} | {mib(x['bootstrap'])} | {x['zip']:,} | {mib(x['zip'])} | "
            f"{ok(x['bootstrap'] <= LIMIT_BOOTSTRAP)} |"
        )
    add("")
    add("### What each release-profile setting bought")
    add("")
    add(
        'The root `Cargo.toml` sets `opt-level = "z"`, `lto = true`, `codegen-units = 1`, `strip = true` and '
        '`panic = "unwind"` (unwind is kept on purpose: the custom-resource core catches a panic in a '
        "handler and still answers CloudFormation FAILED; `abort` would leave the stack waiting for an hour)."
    )
    add("")
    if profiles and profiles.get("variants"):
        rows = {v["label"]: v for v in profiles["variants"]}
        commit = profiles.get("commit", "?")
        add(
            f"Measured by `make bench BENCH_PROFILES=1` on {profiles['date']} at commit `{commit}` "
            f"({profiles['machine']}): `{profiles['binary']}` for arm64, rebuilt from scratch through "
            "`CARGO_PROFILE_RELEASE_*` environment overrides, in a separate target directory. Each row changes "
            "one setting against the row it is compared with, so its change is what that one setting costs."
        )
        if commit != m.get("commit"):
            add(
                f"The code has changed since `{commit}`, so these sizes are not the ones above; the changes "
                "between rows are what each setting buys."
            )
        add("")
        add("| profile | bootstrap (bytes) | bootstrap | zip | compared with | change | build time |")
        add("|---|---:|---:|---:|---|---:|---:|")
        for v in profiles["variants"]:
            if v.get("bootstrap") is None:
                add(f"| {v['label']} | failed | | | | | |")
                continue
            other = rows.get(v.get("compare_to") or "")
            build = "" if v.get("build_s") is None else f"{v['build_s'] / 60:.0f} min"
            change = ""
            if other and other.get("bootstrap"):
                delta = v["bootstrap"] - other["bootstrap"]
                change = f"{delta:+,} bytes ({100 * delta / other['bootstrap']:+.1f}%)"
            add(
                f"| {v['label']} | {v['bootstrap']:,} | {mib(v['bootstrap'])} | {mib(v['zip'])} | "
                f"{v.get('compare_to') or ''} | {change} | {build} |"
            )
        add("")
        add(
            "Read a row as what its comparison gains by *not* having that change: e.g. the `lto = false` "
            "row's growth is what `lto = true` bought."
        )
    else:
        add(
            "Not measured in this run: each variant is a full arm64 release rebuild (about 13 minutes on two "
            "cores). Run `make bench BENCH_PROFILES=1` to measure them."
        )
    add("")

    add("## `target-sync`: API calls and wall time")
    add("")
    add(
        "`target-sync` (release binary) reconciles N bindings, each one endpoint with three ENIs and one "
        "target group, through a recording proxy in front of moto (`bench/recording_proxy.py`) that counts "
        "every AWS API call by action (wall times are measured in other processes that talk to moto directly). "
        "First invocation: everything in sync (cold). Second: one binding "
        "drifted (one endpoint IP deregistered, a stale IP registered by hand). Then in sync again (warm)."
    )
    add("")
    add("| bindings (targets) | run | reads | writes | calls by action | wall time, median (ms) | peak RSS (MiB) |")
    add("|---|---|---:|---:|---|---:|---:|")

    def sync_row(label: str, x: dict, phase: str, also: str = "") -> None:
        c = x["counts"][phase]
        reads = sum(v for k, v in c.items() if not is_write(k))
        writes = sum(v for k, v in c.items() if is_write(k))
        by = ", ".join(f"{k} {v}" for k, v in sorted(c.items())) + also
        add(
            f"| {label} ({x['targets']}) | {phase} | {reads} | {writes} | {by} | {x['wall_ms'][phase]:.0f} | "
            f"{x['peak_rss_kib'] / 1024:.1f} |"
        )

    for n, x in sync.items():
        for phase in ("in sync (cold)", "one binding drifted", "in sync (warm)"):
            sync_row(str(n), x, phase)
    for phase in ("in sync (cold)", "in sync (warm)"):
        sync_row("1 hostname binding", hostname, phase, ", and 3 DNS queries")
    add("")
    add(
        "The hostname row: one binding of a DNS name (served by `zone-dns`, a binary of the tests crate, through "
        "`FRONTDOOR_DNS_SERVER`) whose target group already holds the name's two addresses, in one process that "
        "talks to moto through the recording proxy. A run asks the name three times (`DNS_QUERIES_PER_RUN`; "
        "`tests/target_sync.rs` counts them) and reads the group's family, its VPC's subnets, its tags (the "
        "no-flap state) and its targets once each."
    )
    add("")
    big = max(sync)
    add(
        f"Wall time for {big} bindings ({sync[big]['targets']} targets) against moto, median of the runs: "
        f"{sync[big]['wall_ms']['in sync (cold)']:.0f} ms cold, {sync[big]['wall_ms']['in sync (warm)']:.0f} ms "
        f"warm, {sync[big]['wall_ms']['one binding drifted']:.0f} ms with one binding to repair. moto answers "
        "each call in a few milliseconds from one Python process, so this is mostly moto's time."
    )
    add("")
    per = sync[big]["bindings_bytes"] / big
    add(
        f"Note: `FRONTDOOR_BINDINGS` for {big} bindings is {sync[big]['bindings_bytes']:,} bytes "
        f"(about {per:.0f} bytes a binding). Lambda caps a function's environment variables at 4 KB in all, "
        f"so one function's configuration holds about {4096 // per:.0f} bindings; the larger counts here "
        "measure how the reconcile scales, not a configuration that Lambda would accept."
    )
    add("")

    add("## The targets")
    add("")
    worst_ratio = min(py_init / median(t[f]["init"]) for f in ours)
    worst_cpu_ratio = min(py_cpu / median(t[f]["init_cpu"]) for f in ours)
    built = [x for x in s.values() if x]
    in_sync = [sync[n]["counts"]["in sync (warm)"] for n in sync] + [hostname["counts"]["in sync (warm)"]]
    zero_writes = all(sum(v for k, v in c.items() if is_write(k)) == 0 for c in in_sync)
    reads_per_tg = [(sum(v for k, v in c.items() if not is_write(k)), n) for c, n in zip(in_sync, sync, strict=False)]
    per_tg_ok = all(r <= n + 3 for r, n in reads_per_tg)
    worst_rss = max(
        [max(t[f]["rss"]) for f in ours] + [x["peak_rss_kib"] for x in sync.values()] + [hostname["peak_rss_kib"]]
    )
    add("| target | measured | met |")
    add("|---|---|:---:|")
    add(
        "| init of each Rust function ≥ 10× faster than the Python baseline "
        f"| lowest ratio {worst_ratio:.0f}× in wall time, "
        f"{worst_cpu_ratio:.0f}× in CPU time | {ok(worst_ratio >= 10 and worst_cpu_ratio >= 10)} |"
    )
    slowest_init = max(median(t[f]["init"]) for f in ours)
    add(f"| init of each Rust function ≤ 10 ms | slowest {slowest_init:.1f} ms | {ok(slowest_init <= LIMIT_INIT_MS)} |")
    if built:
        add(
            f"| each arm64 `bootstrap` ≤ 6 MB (6,000,000 bytes) | largest {mib(max(x['bootstrap'] for x in built))} "
            f"({max(x['bootstrap'] for x in built):,} bytes) | "
            f"{ok(len(built) == len(FUNCTIONS) and all(x['bootstrap'] <= LIMIT_BOOTSTRAP for x in built))} |"
        )
    add(f"| peak RSS of each function ≤ 32 MiB | worst {worst_rss / 1024:.1f} MiB | {ok(worst_rss <= LIMIT_RSS_KIB)} |")
    writes_in_sync = ", ".join(str(sum(v for k, v in c.items() if is_write(k))) for c in in_sync)
    add(
        f"| `target-sync` in sync makes zero write calls | {writes_in_sync} "
        f"writes for {', '.join(str(n) for n in sync)} endpoint bindings and 1 hostname binding | {ok(zero_writes)} |"
    )
    add(
        f"| its reads grow by about one per target group | "
        f"{', '.join(f'{r} reads for {n} groups' for r, n in reads_per_tg)} | {ok(per_tg_ok)} |"
    )
    add("")
    if slowest_init > LIMIT_INIT_MS:
        render_ten_ms(add, t, anatomy or {}, ours)
    return "\n".join(L)


def phase_ms(profile: dict | None, phases: list[str]) -> float:
    """Milliseconds of init CPU that `phases` took in one function's profile."""
    if not profile:
        return 0.0
    return sum(profile["shares"].get(p, 0.0) for p in phases) * profile["init_cpu_ms"]


def render_anatomy(add, t: dict, anatomy: dict) -> None:
    """Init with and without the baseline's code, the trust store's opens, and init's CPU profile."""
    rev = anatomy.get("baseline")
    opens = anatomy["opens"]

    def opened(name: str) -> str:
        o = opens.get(name)
        return f"{o['bundle_init']} / {o['bundle_total']} ({o['files_total']} files)" if o else "n/a (no strace)"

    add("### What init is made of")
    add("")
    if rev:
        add(
            f"**With and without one read of the trust store.** The same runs as above also timed the four "
            f"functions of `{rev}` (the commit before the change), built the same way, interleaved with today's. "
            "Trust store opens are counted in one more process of each, under `strace -f` (opens and connects "
            "only): opens of the bundle file before the first connect (the Runtime API: init) / in the whole process "
            "(init and two invocations), and in brackets every file opened under the certificate locations."
        )
        add("")
        add(
            f"| function | init, `{rev}` (ms) | init now (ms) | init CPU, `{rev}` (ms) | init CPU now (ms) "
            f"| cold invocation, `{rev}` (ms) | cold invocation now (ms) | bundle opens, `{rev}` | bundle opens now |"
        )
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in FUNCTIONS:
            old, new = t.get(baseline_arm(name)), t[name]
            if not old:
                continue
            add(
                f"| `{name}` | {median(old['init']):.1f} | {median(new['init']):.1f} | {median(old['init_cpu']):.1f} "
                f"| {median(new['init_cpu']):.1f} | {median(old['cold']):.1f} | {median(new['cold']):.1f} "
                f"| {opened(baseline_arm(name))} | {opened(name)} |"
            )
        add("")
        add(
            "What changed: the platform's roots are read once per process and shared by every TLS client "
            "(`frontdoor::tls`), and the connector the SDK builds for each client at start-up, only so that "
            "certificates load early, trusts nothing instead of decoding the roots again (three times in a "
            "custom resource: STS, EC2, ELB). A request's connector decodes them once, on the first call, which "
            "the cold invocation carries."
        )
        add("")
    profiles = anatomy.get("profiles") or {}
    if not profiles:
        return
    add(
        "**Where init's CPU time goes.** A profile, not a guess: today's functions built from the same code "
        "without `strip` (only the symbol table differs), each run "
        f"{next(iter(profiles.values()))['runs']} times under `perf record -e cpu-clock -F 20000 --call-graph dwarf` "
        "until its first `next`. A sample is charged to the first phase, in the order of the rows, that a frame "
        "of its stack names (`bench/init_anatomy.py`); the share times the init CPU median above gives the "
        "milliseconds. Init's wall time less its CPU time is waiting (the threads' start, I/O)."
    )
    add("")
    names = [n for n in FUNCTIONS if n in profiles]
    add("| phase | " + " | ".join(f"`{n}` (ms)" for n in names) + " |")
    add("|---|" + "---:|" * len(names))
    for phase in [p for p, _ in PHASES] + [OTHER]:
        cells = []
        for n in names:
            share = profiles[n]["shares"].get(phase, 0.0)
            cells.append(f"{share * profiles[n]['init_cpu_ms']:.1f} ({share:.0%})" if share else "–")
        if any(c != "–" for c in cells):
            add(f"| {phase} | " + " | ".join(cells) + " |")
    add(
        "| **init CPU, median of the timed runs** | "
        + " | ".join(f"**{profiles[n]['init_cpu_ms']:.1f}**" for n in names)
        + " |"
    )
    add(
        "| waiting: init less init CPU | "
        + " | ".join(f"{max(median(t[n]['init']) - median(t[n]['init_cpu']), 0):.1f}" for n in names)
        + " |"
    )
    add("| samples | " + " | ".join(str(profiles[n]["samples"]) for n in names) + " |")
    add("")

    def span(phases: list[str]) -> str:
        values = [v for v in (phase_ms(profiles[n], phases) for n in names) if v > 0] or [0.0]
        return f"{min(values):.1f} to {max(values):.1f} ms"

    files = max((opens.get(n) or {}).get("files_init", 0) for n in names)
    add(
        f"The largest part left in every function is the one read of the platform's roots, {span([ROOTS])}: "
        f"the bundle and then each file of the certificate directory ({files} opens here), every PEM decoded, "
        f"the duplicates dropped after. Loading the binary and the kernel's exec take {span([LOADER, OTHER])} "
        "before any of our code runs. Where the SDK is loaded, its configuration, its clients (STS's among them) "
        f"and its connectors take {span([c for c, _ in PHASES if c.startswith(('SDK', 'STS'))])} together."
    )
    add("")


def render_ten_ms(add, t: dict, anatomy: dict, ours: list[str]) -> None:
    """What the profile says stands between init and 10 ms, and what it would take."""
    over = [n for n in ours if median(t[n]["init"]) > LIMIT_INIT_MS]
    profiles = anatomy.get("profiles") or {}
    slowest = max(over, key=lambda n: median(t[n]["init"]))
    add(
        "**What stands between init and 10 ms here.** "
        + ", ".join(f"`{n}` starts in {median(t[n]['init']):.1f} ms" for n in over)
        + "."
    )
    profile = profiles.get(slowest)
    if not profile:
        add("There is no profile in this run (perf missing): see `bench/init_anatomy.py`.")
        add("")
        return

    def ms(phase: str) -> float:
        return phase_ms(profile, [phase])

    top = sorted(profile["shares"], key=lambda p: -profile["shares"][p])[:4]
    add(
        f" By the profile, the largest parts of the slowest, `{slowest}`, are: "
        + "; ".join(f"{p} {ms(p):.1f} ms" for p in top)
        + ". What it would take:"
    )
    add("")
    add(
        f"- **The platform roots**, read once now, still cost {ms(ROOTS):.1f} ms (above). Reading the "
        "bundle alone would cost about half, but would drop a root that is only in the directory, so it is not "
        "done. Lambda's `provided.al2023` image lays its roots out otherwise, and is not measured here."
    )
    add(
        f"- **The SDK's connectors** ({ms(CONNECTORS):.1f} ms at init): its trust store takes PEM only, so a "
        "connector on the roots decodes them again. The connector each `Client::new` builds only to load "
        "certificates early (`validate_base_client_config`) trusts nothing and decodes nothing "
        "(`frontdoor::aws::config`); the first request's connector decodes the roots once, after init. A hook "
        "that took a parsed root store would remove that decode too."
    )
    add(
        f"- **STS** ({ms(STS):.1f} ms more): the default credentials chain makes an STS client for web "
        "identity when the configuration loads (aws-config's `WebIdentityTokenCredentialsProvider::build`), "
        "whether or not a token is set; Lambda hands the functions their credentials in the environment. A chain "
        "of the environment alone would skip it, at the price of leaving the SDK's documented default; not done."
    )
    add(
        f"- **The process itself**: ld.so {ms(LOADER):.1f} ms, and exec, page faults and libc "
        f"{ms(OTHER):.1f} ms, before any of our code runs."
    )
    add("")


# ------------------------------------------------------------------ main


def profile_results() -> dict | None:
    return json.loads(PROFILE_RESULTS.read_text()) if PROFILE_RESULTS.exists() else None


def render_only(results: Path, out: Path) -> int:
    r = json.loads(results.read_text())
    sync = {int(n): v for n, v in r["sync"].items()}  # JSON turned the binding counts into strings
    out.write_text(
        render(
            r["machine"],
            r["timings"],
            r["calls"],
            r["sizes"],
            sync,
            r["hostname_sync"],
            profile_results(),
            r.get("runs", 7),
            r.get("warm", 5),
            r.get("anatomy"),
        )
        + "\n"
    )
    log(f"wrote {out} from {results}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7, help="processes per function (medians over these)")
    ap.add_argument("--warm", type=int, default=5, help="warm invocations per process")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json", default=str(HERE / "results" / "latest.json"))
    ap.add_argument("--sync-sizes", default="1,10,100")
    ap.add_argument("--baseline-bin", help="release binaries of an earlier revision, timed beside today's")
    ap.add_argument("--baseline-rev", default="", help="the revision --baseline-bin was built from")
    ap.add_argument("--symbols-bin", help="today's release binaries built without strip, for init's CPU profile (perf)")
    ap.add_argument("--profile-runs", type=int, default=15, help="processes per function under perf")
    ap.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: render --out from --json and the profile variants (after BENCH_PROFILES)",
    )
    args = ap.parse_args()
    if args.render_only:
        return render_only(Path(args.json), Path(args.out))
    for name in [*FUNCTIONS, "zone-dns"]:
        if not (TARGET_DIR / "release" / name).exists():
            log(f"missing {TARGET_DIR / 'release' / name}: run `make bench`, which builds it")
            return 1
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="frontdoor-bench-"))
    log(f"logs in {workdir}")
    sink = api = None
    try:
        m = machine()
        moto_url = start_moto(procs, workdir, venv_tool("moto_server"))
        os.environ.update(TEST_CREDENTIALS)
        log(f"moto_server on {moto_url}")
        fx = StackFixture(moto_url)
        # moto loads each service on its first call (1-2 s): pay that before measuring.
        fx.ec2.describe_security_groups()
        fx.elb.describe_target_groups()
        sink = ResponseSink()
        api = PrivateApi(workdir, "api.frontdoor.internal")
        arms = timing_arms(fx, sink, api, moto_url, args.warm)
        baseline = Path(args.baseline_bin) if args.baseline_bin else None
        if baseline:
            check_baseline(baseline)
            for name in FUNCTIONS:
                _, env, events, before = arms[name]
                arms[baseline_arm(name)] = ([str(baseline / name)], env, events, before)
        # One untimed round first, so that the page cache holds every binary and Python's modules.
        measure_timings(arms, 1, workdir, sink)
        t = measure_timings(arms, args.runs, workdir, sink)
        calls = count_calls({n: a for n, a in arms.items() if not n.endswith(BASELINE_SUFFIX)}, moto_url, workdir)
        anatomy = measure_anatomy(
            arms, t, workdir, Path(args.symbols_bin) if args.symbols_bin else None, args.profile_runs
        )
        anatomy["baseline"] = args.baseline_rev if baseline else None
        sync = measure_sync(fx, moto_url, workdir, tuple(int(x) for x in args.sync_sizes.split(",")))
        hostname = measure_hostname_sync(fx, moto_url, workdir, procs)
        s = sizes(workdir)
        report = render(m, t, calls, s, sync, hostname, profile_results(), args.runs, args.warm, anatomy)
        Path(args.out).write_text(report + "\n")
        print(report[report.index("## The targets") :], flush=True)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": m,
                    "timings": t,
                    "calls": calls,
                    "sizes": s,
                    "sync": sync,
                    "hostname_sync": hostname,
                    "anatomy": anatomy,
                    "runs": args.runs,
                    "warm": args.warm,
                },
                indent=1,
            )
            + "\n"
        )
        log(f"wrote {args.out}")
        return 0
    finally:
        if api:
            api.stop()
        if sink:
            sink.close()
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
