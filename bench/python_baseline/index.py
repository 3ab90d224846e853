"""The Python baseline: the Create that `eni-targets` does, written the way the
public sample custom resources write it (bench tooling, not product code).

As in those samples: boto3 clients made at import, the ENI ids handed in by the
template (`!GetAtt Endpoint.NetworkInterfaceIds`), one
`describe_network_interfaces`, one `register_targets`, and cfnresponse's PUT
(urllib3, empty content type) to the ResponseURL.
"""

import json

import boto3
import urllib3

ec2 = boto3.client("ec2")
elbv2 = boto3.client("elbv2")
http = urllib3.PoolManager()


def send(event, context, status, data, physical_id, reason=None):
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"See the details in CloudWatch Log Stream: {context.log_stream_name}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    )
    http.request("PUT", event["ResponseURL"], body=body, headers={"content-type": "", "content-length": str(len(body))})


def handler(event, context):
    props = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-targets"
    try:
        data = {}
        if event["RequestType"] in ("Create", "Update"):
            enis = ec2.describe_network_interfaces(NetworkInterfaceIds=props["NetworkInterfaceIds"])
            ips = [eni["PrivateIpAddress"] for eni in enis["NetworkInterfaces"]]
            port = int(props.get("Port", 443))
            for arn in props["TargetGroupArns"]:
                elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": ip, "Port": port} for ip in ips])
            data = {f"IP{i}": ip for i, ip in enumerate(ips)}
        send(event, context, "SUCCESS", data, physical_id)
    except Exception as error:  # noqa: BLE001 - the samples answer FAILED on anything
        send(event, context, "FAILED", {}, physical_id, reason=str(error))
    return {"ok": True}
