"""What a function's initialisation is made of (bench tooling).

Two observations of the same release binaries that `bench.py` times, each in
processes of its own, so that neither slows the timed runs:

- **Trust store reads**, counted by the kernel's view of the process: the
  function runs under `strace -f` (opens and connects only), and every open of
  a path under the platform's certificate locations is counted, before the
  first `connect` (the Runtime API: initialisation) and over the whole process.
  A read of the trust store is one open of the bundle file.
- **A CPU profile of init**: the same code, built without `strip` (only the
  symbol table differs), runs under `perf record -e cpu-clock` with call graphs
  until its first `next`, several times. Each sample is charged to the first
  phase, in `PHASES` order, that a frame of its stack names; the shares,
  times the median init CPU time of the timed runs, give each phase's
  milliseconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from bench.runtime_api import run_function

# Where rustls-native-certs (through openssl-probe) finds the platform's roots
# on Debian, Amazon Linux and the rest.
CERT_LOCATIONS = ("/etc/ssl/", "/etc/pki/", "/usr/lib/ssl/", "/usr/share/ca-certificates/", "/etc/ca-certificates")
# strace -f lines: a pid, a time stamp if asked for, then the call.
OPEN = re.compile(r'^\d+ +(?:[\d.]+ +)?open(?:at)?\((?:AT_FDCWD, )?"([^"]+)", ([A-Z_|]+)')
CONNECT = re.compile(r"^\d+ +(?:[\d.]+ +)?connect\(")


def trust_store_opens(cmd: list[str], env: dict, events: list, logdir: Path, name: str) -> dict | None:
    """Opens of the platform's certificate locations by one process running `events`;
    None without strace."""
    strace = shutil.which("strace")
    if not strace:
        return None
    trace = logdir / f"{name}-opens.strace"
    trace.unlink(missing_ok=True)
    traced = [strace, "-f", "-qq", "-e", "trace=open,openat,connect", "-o", str(trace), *cmd]
    run_function(traced, env, events, logdir / f"{name}-opens.log", name=name)
    return count_opens(trace.read_text().splitlines())


def count_opens(lines: list[str]) -> dict:
    """`bundle`: opens of the first certificate file opened (the bundle, which
    rustls-native-certs reads first, once per read of the store); `files`: every
    open under the certificate locations; each before the first connect and in all."""
    counts = {"bundle_init": 0, "bundle_total": 0, "files_init": 0, "files_total": 0}
    bundle = None
    initialising = True
    for line in lines:
        if initialising and CONNECT.match(line):
            initialising = False
            continue
        m = OPEN.match(line)
        if not m or not m.group(1).startswith(CERT_LOCATIONS):
            continue
        path, flags = m.groups()
        if bundle is None and "O_DIRECTORY" not in flags:
            bundle = path
        phases = ("init", "total") if initialising else ("total",)
        for phase in phases:
            counts[f"files_{phase}"] += 1
            if path == bundle:
                counts[f"bundle_{phase}"] += 1
    return counts


# The phases of init, in the order a sample is matched: the first phase one of
# whose patterns is in any frame of the sample's stack takes it. Trust roots
# come first because the SDK's clients and reqwest reach them from inside.
PHASES: list[tuple[str, tuple[str, ...]]] = [
    (ROOTS := "platform roots: the trust store read and parsed (rustls-native-certs)", ("rustls_native_certs::",)),
    (
        CONNECTORS := "SDK connectors: the roots decoded into a connector (aws-smithy-http-client)",
        ("build_with_connector_fn", "create_rustls_client_config", "rustls_root_certs"),
    ),
    (STS := "STS client of the default credentials chain (web identity), the rest", ("aws_sdk_sts::",)),
    ("SDK clients: endpoint rules, plugins (aws-sdk-*), the rest", ("aws_sdk_",)),
    ("SDK configuration (aws-config)", ("aws_config::", "aws_smithy_", "aws_types::")),
    ("response PUT's client (reqwest) and the probe's TLS set-up", ("reqwest::", "frontdoor::tls::")),
    ("crypto provider (aws-lc)", ("aws_lc", "rustls::crypto")),
    ("tokio runtime and its threads", ("tokio::runtime",)),
    ("logging set-up (tracing-subscriber)", ("tracing_subscriber::", "frontdoor::logging")),
    ("Lambda runtime client, up to the first next (lambda_runtime, hyper)", ("lambda_runtime", "hyper")),
    ("the function's own configuration (frontdoor)", ("frontdoor::",)),
    (LOADER := "loading and relocating the binary (ld.so)", ("ld-linux", "_dl_")),
]
OTHER = "kernel: exec, page faults, thread start; libc"


def profile_init(cmd: list[str], env: dict, logdir: Path, name: str, runs: int) -> dict | None:
    """Share of init's CPU samples per phase, over `runs` processes; None without perf."""
    perf = shutil.which("perf")
    if not perf or not Path(cmd[0]).exists():
        return None
    samples: Counter[str] = Counter()
    for i in range(runs):
        data = logdir / f"{name}-init-{i}.perf"
        recorded = [
            *(perf, "record", "-q", "-e", "cpu-clock", "-F", "20000", "--call-graph", "dwarf"),
            *("-o", str(data), "--", *cmd),
        ]
        run_function(recorded, env, [], logdir / f"{name}-perf.log", name=name)
        script = subprocess.run(
            [perf, "script", "-i", str(data), "-F", "comm,ip,sym,dso"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.update(classify(script))
        data.unlink()
    total = sum(samples.values())
    shares = {phase: n / total for phase, n in samples.items()} if total else {}
    return {"samples": total, "runs": runs, "shares": shares}


def classify(script: str) -> Counter[str]:
    """Phase of every sample of `perf script` output (blank-line separated stacks),
    but those of perf itself before it execs the function."""
    out: Counter[str] = Counter()
    for block in script.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or lines[0].split()[0] in ("perf", "perf-exec"):
            continue
        frames = "\n".join(lines[1:])
        out[next((phase for phase, pats in PHASES if any(p in frames for p in pats)), OTHER)] += 1
    return out
