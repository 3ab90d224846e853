"""Every parameter change a user can make to a deployed stack goes through (issue 22; update_paths.py).

The first two tests check every path of every scenario, and that docs/operations.md shows the
current table; the run's summary line gives the number of paths. The others feed the check
hand-made templates, to show that each kind of failure is found.
"""

from __future__ import annotations

from typing import Any

from update_paths import DOC, Finding, Result, diff, findings, updated_doc

LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
FUNCTION = "AWS::Lambda::Function"
ROLE = "AWS::IAM::Role"
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def resource(typ: str, **props: Any) -> dict[str, Any]:
    return {"Type": typ, "Properties": props}


def found(before: dict[str, Any], after: dict[str, Any]) -> list[Finding]:
    return findings(before, after, diff(before, after))


def test_no_update_path_fails(update_check: Result) -> None:
    assert not update_check.findings, "\n" + update_check.report()


def test_operations_doc_shows_the_current_table(update_check: Result) -> None:
    text = DOC.read_text()
    assert updated_doc(text, update_check) == text, (
        "docs/operations.md: the update-paths table is not current; "
        "run python tools/update_paths.py --write docs/operations.md"
    )


def test_mutual_authentication_left_out_is_found_and_said_off_is_not() -> None:
    verify = {"Mode": "verify", "TrustStoreArn": {"Ref": "TrustStore"}}
    before = {"Listener": resource(LISTENER, LoadBalancerArn={"Ref": "Alb"}, MutualAuthentication=verify)}
    left_out = {"Listener": resource(LISTENER, LoadBalancerArn={"Ref": "Alb"})}
    said_off = {"Listener": resource(LISTENER, LoadBalancerArn={"Ref": "Alb"}, MutualAuthentication={"Mode": "off"})}
    (finding,) = found(before, left_out)
    assert finding.resource == "Listener" and "MutualAuthentication is left out" in finding.why
    assert found(before, said_off) == []


def test_load_balancer_attribute_left_out_is_found() -> None:
    def alb(*keys: str) -> dict[str, Any]:
        attributes = [{"Key": k, "Value": "x"} for k in keys]
        return {"Alb": resource(LOAD_BALANCER, Type="application", LoadBalancerAttributes=attributes)}

    (finding,) = found(alb("access_logs.s3.enabled", "access_logs.s3.bucket"), alb("access_logs.s3.enabled"))
    assert "access_logs.s3.bucket is left out" in finding.why


def test_replaced_resource_that_keeps_its_custom_name_is_found() -> None:
    before = {"Group": resource(TARGET_GROUP, Name="frontdoor", Port=443, Protocol="HTTPS")}
    same_name = {"Group": resource(TARGET_GROUP, Name="frontdoor", Port=8443, Protocol="HTTPS")}
    new_name = {"Group": resource(TARGET_GROUP, Name="frontdoor-8443", Port=8443, Protocol="HTTPS")}
    assert diff(before, same_name).replaced == {"Group": "Port changes"}
    assert [f.resource for f in found(before, same_name) if "custom Name" in f.why] == ["Group"]
    # A new name is the way out, and CloudFormation then replaces it.
    assert not any("custom" in f.why for f in found(before, new_name))


def test_log_group_name_taken_from_a_group_deleted_in_the_same_update_is_found() -> None:
    before = {"OldLogGroup": resource("AWS::Logs::LogGroup", LogGroupName="/frontdoor/stack/probe")}
    after = {"NewLogGroup": resource("AWS::Logs::LogGroup", LogGroupName="/frontdoor/stack/probe")}
    (finding,) = found(before, after)
    assert finding.resource == "NewLogGroup" and "LogGroupName" in finding.why


def test_role_that_loses_vpc_access_while_its_function_leaves_the_vpc_is_found() -> None:
    def stack(policies: list[str], vpc: dict[str, Any]) -> dict[str, Any]:
        function = resource(FUNCTION, Role={"Fn::GetAtt": ["SyncRole", "Arn"]}, VpcConfig=vpc)
        return {"SyncRole": resource(ROLE, ManagedPolicyArns=policies), "Sync": function}

    in_vpc = {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    out = {"SubnetIds": [], "SecurityGroupIds": []}
    (finding,) = found(stack([VPC_ACCESS], in_vpc), stack([], out))
    assert finding.resource == "SyncRole" and "no VPC access after the update" in finding.why
    assert found(stack([VPC_ACCESS], in_vpc), stack([VPC_ACCESS], out)) == []
    # Granted in the same update as the function joins the VPC: IAM may not have it yet.
    (finding,) = found(stack([], out), stack([VPC_ACCESS], in_vpc))
    assert "no VPC access before the update" in finding.why


def test_inline_network_interface_actions_are_vpc_access() -> None:
    statement = {
        "Effect": "Allow",
        "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:Describe*"],
        "Resource": "*",
    }
    role = resource(ROLE, Policies=[{"PolicyName": "eni", "PolicyDocument": {"Statement": [statement]}}])
    function = resource(FUNCTION, Role={"Fn::GetAtt": ["Role", "Arn"]}, VpcConfig={"SubnetIds": ["subnet-1"]})
    assert found({"Role": role, "Fn": function}, {"Role": role, "Fn": function}) == []


def test_replaced_health_check_source_is_found() -> None:
    def source(subnet: str) -> dict[str, Any]:
        config = {"VpcId": "vpc-1", "SubnetConfigurationList": [{"SubnetId": subnet}]}
        return {"Source": resource("AWS::Route53::HealthCheckSource", HealthCheckSourceConfig=config)}

    (finding,) = found(source("subnet-1"), source("subnet-2"))
    assert finding.resource == "Source" and "5 an account may have" in finding.why


def test_replaced_target_group_is_found_unless_something_registers_its_targets_again() -> None:
    before = {"Group": resource(TARGET_GROUP, Port=443, Protocol="HTTPS")}
    after = {"Group": resource(TARGET_GROUP, Port=443, Protocol="TLS")}
    (finding,) = found(before, after)
    assert "starts with no targets" in finding.why
    registrar = resource("Custom::EndpointTargets", TargetGroupArns=[{"Ref": "Group"}])
    assert found({**before, "Targets": registrar}, {**after, "Targets": registrar}) == []


def test_replacement_reaches_what_names_the_replaced_resource_in_a_create_only_property() -> None:
    before = {
        "Group": resource("AWS::EC2::SecurityGroup", GroupDescription="lb", VpcId="vpc-1"),
        "Ingress": resource("AWS::EC2::SecurityGroupIngress", GroupId={"Fn::GetAtt": ["Group", "GroupId"]}),
        "Alb": resource(LOAD_BALANCER, Type="application", SecurityGroups=[{"Fn::GetAtt": ["Group", "GroupId"]}]),
    }
    after = {**before, "Group": resource("AWS::EC2::SecurityGroup", GroupDescription="lb", VpcId="vpc-2")}
    d = diff(before, after)
    assert d.replaced == {"Group": "VpcId changes", "Ingress": "GroupId refers to replaced Group"}
    # SecurityGroups is not create-only: the load balancer takes the new group in place.
    assert d.updated == {"Alb"}


def test_type_change_is_found() -> None:
    before = {"Records": resource("AWS::Route53::RecordSet", Name="api.example.com")}
    after = {"Records": resource("AWS::Route53::RecordSetGroup", RecordSets=[])}
    (finding,) = found(before, after)
    assert "type changes" in finding.why
