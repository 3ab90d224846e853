"""Tooling shared by `make demo` (demo/) and `make bench` (bench/); not product code.

- `processes`: child processes, each in a session of its own, stopped by PID.
- `moto`: moto_server on 127.0.0.1, and the stack's AWS resources in it.
- `events`: the events of events/, filled in for one run.
- `stand_ins`: CloudFormation's `ResponseURL` and the private API, played locally.
- `dns`: the scripted DNS server that hostname bindings ask.

The Makefile puts tools/ on PYTHONPATH, so the package is `frontdoor_dev`.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
