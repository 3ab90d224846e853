"""What each release-profile setting buys (`make bench BENCH_PROFILES=1`).

Rebuilds one function for arm64 with `cargo lambda build --release --arm64`
once per variant, each with one setting of `[profile.release]` changed through a
`CARGO_PROFILE_RELEASE_*` environment override, in a target directory of its
own (so the shared one, and the `bootstrap` files that `sam build` uses, are
untouched), and records the sizes in bench/results/profile-variants.json, which
`bench/bench.py` renders. Each variant is a full release build: about 13
minutes on two cores. Results are written after each variant, so a partial run
still counts. The variant target directory is removed at the end. Run from the
repository root as `python -m bench.profile_variants`, with tools/ on
PYTHONPATH (the Makefile does).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from frontdoor_dev import ROOT
from frontdoor_dev.processes import venv_tool

OUT = Path(__file__).resolve().parent / "results" / "profile-variants.json"
BINARY = os.environ.get("BENCH_PROFILE_BINARY", "eni-targets")
TARGET = Path(os.environ.get("BENCH_PROFILE_TARGET_DIR", Path.home() / ".cache/frontdoor/profile-variants-target"))

# (label, overrides, the label it is compared with). A variant changes one
# setting against the row it is compared with, so each delta is one setting's
# worth; the opt-level "s" rows measure lto and codegen-units on top of "s".
SHIPPED = 'shipped: opt-level "z", lto, codegen-units 1, strip, panic unwind'
OPT_S = 'opt-level = "s"'
VARIANTS = [
    (SHIPPED, {}, None),
    (OPT_S, {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "s"}, SHIPPED),
    (
        'opt-level "s", lto = false',
        {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "s", "CARGO_PROFILE_RELEASE_LTO": "false"},
        OPT_S,
    ),
    (
        'opt-level "s", codegen-units = 16',
        {"CARGO_PROFILE_RELEASE_OPT_LEVEL": "s", "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "16"},
        OPT_S,
    ),
    ("strip = false", {"CARGO_PROFILE_RELEASE_STRIP": "false"}, SHIPPED),
    ('panic = "abort" (not safe here)', {"CARGO_PROFILE_RELEASE_PANIC": "abort"}, SHIPPED),
]


def main() -> int:
    only = set(sys.argv[1:])  # optional: indexes of variants to run
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "unknown",
    )
    result = {
        "binary": BINARY,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {cpu}",
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "variants": [],
    }
    # Resume: keep the variants an earlier (interrupted) run of today measured.
    if OUT.exists() and os.environ.get("BENCH_PROFILES_FRESH") is None:
        old = json.loads(OUT.read_text())
        if (old.get("date"), old.get("binary"), old.get("commit")) == (result["date"], BINARY, result["commit"]):
            result["variants"] = [v for v in old["variants"] if v.get("bootstrap")]
    done = {v["label"] for v in result["variants"]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cargo_lambda = venv_tool("cargo-lambda")
    try:
        for i, (label, overrides, compare_to) in enumerate(VARIANTS):
            if (only and str(i) not in only) or label in done:
                continue
            env = {**os.environ, **overrides, "CARGO_TARGET_DIR": str(TARGET)}
            print(f"[profiles] {label}: building {BINARY} for arm64 ...", flush=True)
            t0 = time.monotonic()
            rc = subprocess.run(
                ["nice", "-n", "19", cargo_lambda, "lambda", "build", "--release", "--arm64", "--bin", BINARY],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).returncode
            build_s = time.monotonic() - t0
            bootstrap = TARGET / "lambda" / BINARY / "bootstrap"
            entry = {"label": label, "overrides": overrides, "compare_to": compare_to, "build_s": round(build_s)}
            if rc == 0 and bootstrap.exists():
                zpath = TARGET / f"{BINARY}-{i}.zip"
                with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
                    z.write(bootstrap, "bootstrap")
                entry.update(bootstrap=bootstrap.stat().st_size, zip=zpath.stat().st_size)
                bootstrap.unlink()
            else:
                entry.update(bootstrap=None, zip=None)
            result["variants"].append(entry)
            order = [lbl for lbl, _, _ in VARIANTS]
            result["variants"].sort(key=lambda v: order.index(v["label"]) if v["label"] in order else 99)
            OUT.write_text(json.dumps(result, indent=1) + "\n")
            print(f"[profiles] {label}: {entry.get('bootstrap')} bytes in {build_s / 60:.1f} min", flush=True)
    finally:
        shutil.rmtree(TARGET, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
