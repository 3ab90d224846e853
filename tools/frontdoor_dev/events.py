"""The events of events/, filled in with the ids and URLs of one run."""

from __future__ import annotations

import json

from frontdoor_dev import ROOT


def event(name: str) -> dict:
    """A fresh copy of events/<name>, to fill in."""
    return json.loads((ROOT / "events" / name).read_text())


def custom_resource_event(
    name: str, response_url: str, request_id: str, properties: dict, physical_id: str | None = None
) -> dict:
    """A CloudFormation custom-resource request from events/: answered at `response_url`,
    with `properties` over its ResourceProperties and, for an Update or a Delete,
    the PhysicalResourceId that the Create answered."""
    request = event(name)
    request["ResponseURL"] = response_url
    request["RequestId"] = request_id
    request["ResourceProperties"].update(properties)
    if physical_id is not None:
        request["PhysicalResourceId"] = physical_id
    return request
