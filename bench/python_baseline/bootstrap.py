"""A Lambda-like runtime loop for the Python baseline (bench tooling).

Like the managed Python runtime: import the handler's module (its boto3 clients
are made at import: that is the initialisation), then loop on the Runtime API's
`next`, call the handler, and post its result. The harness (bench/bench.py)
puts the task root, this folder, on PYTHONPATH, as Lambda does.
"""

import json
import os
import urllib.request

import index  # the initialisation being measured

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"


class Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")


while True:
    with urllib.request.urlopen(f"{API}/invocation/next") as resp:
        request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(resp.read())
    try:
        result, outcome = index.handler(event, Context(request_id)), "response"
    except Exception as error:  # noqa: BLE001
        result, outcome = {"errorMessage": str(error), "errorType": type(error).__name__}, "error"
    req = urllib.request.Request(
        f"{API}/invocation/{request_id}/{outcome}", data=json.dumps(result).encode(), method="POST"
    )
    urllib.request.urlopen(req).read()
