"""moto_server on 127.0.0.1, and what the SAM template's stack has in it.

`StackFixture` makes the VPC and its three private subnets, then, on demand,
the execute-api interface endpoint, IP target groups and security groups.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3

from frontdoor_dev.processes import Processes

REGION = "us-east-1"
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
PORT = 443


def start_moto(procs: Processes, logdir: Path, moto_server: str = "moto_server") -> str:
    """Starts moto_server on a port of its choosing; returns its URL once it answers."""
    log = logdir / "moto.log"
    proc = procs.start("moto_server", [moto_server, "-H", "127.0.0.1", "-p", "0"], log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if m:
            url = f"http://127.0.0.1:{m.group(1)}"
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).read()
                return url
            except OSError:
                pass
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    raise RuntimeError("moto_server printed no port within 30 s")


@dataclass(frozen=True)
class Endpoint:
    id: str
    eni_ids: list[str]
    # ip -> (eni, subnet, az); moto's ENI IPs are random and lie outside their subnet.
    enis: dict[str, tuple[str, str, str]]

    @property
    def ips(self) -> list[str]:
        return list(self.enis)


class StackFixture:
    """A VPC with three private subnets in moto, and makers of what the stack adds to it."""

    def __init__(self, moto_url: str) -> None:
        self.ec2 = boto3.client("ec2", endpoint_url=moto_url, region_name=REGION)
        self.elb = boto3.client("elbv2", endpoint_url=moto_url, region_name=REGION)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        # (subnet, az)
        self.subnets: list[tuple[str, str]] = []
        for i, az in enumerate("abc"):
            subnet = self.ec2.create_subnet(
                VpcId=self.vpc, CidrBlock=f"10.0.{i + 1}.0/24", AvailabilityZone=f"{REGION}{az}"
            )["Subnet"]
            self.subnets.append((subnet["SubnetId"], subnet["AvailabilityZone"]))

    def endpoint(self) -> Endpoint:
        """An execute-api interface endpoint with one ENI in each subnet."""
        ep = self.ec2.create_vpc_endpoint(
            VpcId=self.vpc,
            VpcEndpointType="Interface",
            ServiceName=f"com.amazonaws.{REGION}.execute-api",
            SubnetIds=[subnet for subnet, _ in self.subnets],
        )["VpcEndpoint"]
        enis = self.ec2.describe_network_interfaces(NetworkInterfaceIds=ep["NetworkInterfaceIds"])
        return Endpoint(
            ep["VpcEndpointId"],
            ep["NetworkInterfaceIds"],
            {
                e["PrivateIpAddress"]: (e["NetworkInterfaceId"], e["SubnetId"], e["AvailabilityZone"])
                for e in enis["NetworkInterfaces"]
            },
        )

    def target_group(self, name: str) -> str:
        """An IP target group on TCP 443, as the load balancer's."""
        return self.elb.create_target_group(Name=name, Protocol="TCP", Port=PORT, VpcId=self.vpc, TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]

    def security_group(self, name: str, description: str | None = None) -> str:
        return self.ec2.create_security_group(GroupName=name, Description=description or name, VpcId=self.vpc)[
            "GroupId"
        ]

    def targets(self, target_group: str) -> dict[tuple[str, int], str]:
        """(ip, port) -> health state of each target registered in the group."""
        health = self.elb.describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
        return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"] for d in health}

    def register(self, target_group: str, ips: list[str]) -> None:
        self.elb.register_targets(TargetGroupArn=target_group, Targets=[{"Id": ip, "Port": PORT} for ip in ips])

    def deregister(self, target_group: str, ips: list[str]) -> None:
        self.elb.deregister_targets(TargetGroupArn=target_group, Targets=[{"Id": ip, "Port": PORT} for ip in ips])

    def clear(self, target_group: str) -> None:
        """Deregisters every target of the group."""
        targets = [{"Id": ip, "Port": port} for ip, port in self.targets(target_group)]
        if targets:
            self.elb.deregister_targets(TargetGroupArn=target_group, Targets=targets)


@dataclass
class FailoverStack:
    """What `frontdoor status` reads of a deployed stack, in moto: a stand-in
    CloudFormation stack with the template's outputs and parameters, this
    Region's and the peer Region's health checks, and the failover pair of
    records in a private hosted zone."""

    name: str
    health_check: str
    peer_health_check: str
    zone: str
    # Each Region's load balancer DNS name, as the failover records alias it.
    load_balancers: dict[str, str]


def failover_stack(
    moto_url: str, fixture: StackFixture, name: str, domain: str, outputs: dict[str, str], peer_region: str
) -> FailoverStack:
    route53 = boto3.client("route53", endpoint_url=moto_url, region_name=REGION)
    cloudformation = boto3.client("cloudformation", endpoint_url=moto_url, region_name=REGION)
    zone = route53.create_hosted_zone(
        Name=domain,
        CallerReference=name,
        VPC={"VPCRegion": REGION, "VPCId": fixture.vpc},
        HostedZoneConfig={"PrivateZone": True},
    )["HostedZone"]["Id"].split("/")[-1]

    def health_check(reference: str) -> str:
        config = {"Type": "HTTPS", "FullyQualifiedDomainName": domain, "Port": PORT, "ResourcePath": "/ping"}
        return route53.create_health_check(CallerReference=reference, HealthCheckConfig=config)["HealthCheck"]["Id"]

    own, peer = health_check(f"{name}-{REGION}"), health_check(f"{name}-{peer_region}")

    load_balancers = {region: f"internal-{name}.{region}.elb.amazonaws.com" for region in (REGION, peer_region)}

    def record(role: str, region: str, check: str) -> dict:
        # As the template writes them: an alias of the Region's load balancer.
        alias = {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": load_balancers[region], "EvaluateTargetHealth": False}
        return {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": domain,
                "Type": "A",
                "SetIdentifier": f"{role}-{region}",
                "Failover": role,
                "HealthCheckId": check,
                "AliasTarget": alias,
            },
        }

    pair = [record("PRIMARY", REGION, own), record("SECONDARY", peer_region, peer)]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": pair})
    parameters = {"DomainName": domain, "PrivateHostedZoneId": zone, "FailoverRole": "PRIMARY"}
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            key: {"Value": value}
            for key, value in {**outputs, "HealthCheckId": own, "LoadBalancerDnsName": load_balancers[REGION]}.items()
        },
    }
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    return FailoverStack(name, own, peer, zone, load_balancers)
