"""The scripted DNS server (`zone-dns`, a binary of the tests crate) as a process:
the "on-premises" names that target-sync's hostname bindings resolve, through
FRONTDOOR_DNS_SERVER."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from frontdoor_dev.processes import Processes

# zone-dns reads its file again within 50 ms of a change.
RELOAD_SECONDS = 0.2


class ZoneDns:
    """`zone-dns` on 127.0.0.1, answering from a zone file that `set` rewrites."""

    def __init__(self, procs: Processes, workdir: Path, binary: Path) -> None:
        if not binary.is_file():
            raise RuntimeError(f"{binary} is missing (cargo build --workspace --all-targets makes it)")
        self.zone_file = workdir / "zone.json"
        self.zone: dict[str, list[str]] = {}
        self._write()
        log = workdir / "zone-dns.log"
        self.proc = procs.start("zone-dns", [str(binary), str(self.zone_file)], log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            first = log.read_text(errors="replace").splitlines()[:1]
            if first:
                self.address = first[0].strip()
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"zone-dns did not start: {log.read_text(errors='replace')}")

    def set(self, name: str, addresses: list[str]) -> None:
        """`name` answers these addresses from now on."""
        self.zone[name] = addresses
        self._write()
        time.sleep(RELOAD_SECONDS)

    def _write(self) -> None:
        staged = self.zone_file.with_suffix(".tmp")
        staged.write_text(json.dumps(self.zone))
        os.replace(staged, self.zone_file)
