"""The scripted DNS server (`zone-dns`, a binary of the tests crate) as a process:
the "on-premises" names that target-sync's hostname bindings resolve, through
FRONTDOOR_DNS_SERVER, and the private zone's failover name that health-probe's
observer resolves, answered as Route 53's resolver would (FailoverAnswer)."""

from __future__ import annotations

import json
import os
import threading
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


class FailoverAnswer:
    """Plays the VPC's resolver for a failover name of a private zone in moto:
    every 0.2 s it reads the zone's failover records and their health checks,
    picks the record Route 53 would answer with (the primary while its check
    is healthy, else a healthy secondary; moto's checkers always report
    success, so a check is healthy unless inverted), and answers the name with
    the addresses of the load balancer that record aliases."""

    def __init__(self, dns: ZoneDns, route53, zone: str, name: str, addresses: dict[str, list[str]]) -> None:
        self.dns, self.route53, self.zone, self.name, self.addresses = dns, route53, zone, name, addresses
        self.answer: list[str] = []
        self._stop = threading.Event()
        self.follow()
        threading.Thread(target=self._run, daemon=True).start()

    def follow(self) -> None:
        records = self.route53.list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"]
        pair = {r["Failover"]: r for r in records if r.get("Failover") and r["Type"] == "A"}

        def healthy(record: dict) -> bool:
            check = record.get("HealthCheckId")
            if not check:
                return True
            config = self.route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
            return not config.get("Inverted", False)

        chosen = next((pair[role] for role in ("PRIMARY", "SECONDARY") if role in pair and healthy(pair[role])), None)
        answer = self.addresses.get(chosen["AliasTarget"]["DNSName"].rstrip("."), []) if chosen else []
        if answer != self.answer:
            self.answer = answer
            self.dns.set(self.name, answer)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.follow()

    def stop(self) -> None:
        self._stop.set()
