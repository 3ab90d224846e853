"""Makes cfn-lint 1.58 validate resources against the registry schemas it is given.

cfn-lint 1.58 loads `--registry-schemas` into its schema manager, which then knows the type
(no E3006) and its Ref and GetAtt, but `ProviderSchemaManager.get_resource_schemas_by_regions`,
which the property rules (E3002, E3003, E3012, E3030, ...) and the GetAtt rules iterate, walks the
built-in provider types only. A registry type's properties would not be checked at all: the type
would merely be silenced. This module, loaded with `append_rules` (.cfnlintrc.yaml), makes that
method fall back to the registry schema for a type the built-in providers lack, so the resource is
checked like any other. tests/template/test_cfn_lint_schemas.py proves it on bad templates.

Delete it (and the registry schema) once cfn-lint ships AWS::Route53::HealthCheckSource.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cfnlint.rules import CloudFormationLintRule
from cfnlint.schema import Schema
from cfnlint.schema.manager import ProviderSchemaManager

_builtin = ProviderSchemaManager.get_resource_schemas_by_regions


def _with_registry(
    self: ProviderSchemaManager, resource_type: str, regions: Sequence[str]
) -> Iterator[tuple[list[str], Schema]]:
    found = False
    for item in _builtin(self, resource_type, regions):
        found = True
        yield item
    registry = self._registry_schemas.get(resource_type)
    if not found and registry is not None and regions:
        yield list(regions), registry


if getattr(ProviderSchemaManager.get_resource_schemas_by_regions, "__name__", "") != "_with_registry":
    ProviderSchemaManager.get_resource_schemas_by_regions = _with_registry  # type: ignore[method-assign]


class RegistrySchemasValidated(CloudFormationLintRule):
    """Carries the patch above; it reports nothing itself."""

    id = "I9001"
    shortdesc = "Registry schemas are validated (frontdoor)"
    description = "Resources of --registry-schemas types are checked against their schema by the property rules"
    source_url = "https://github.com/aws-cloudformation/cfn-lint"
    tags = ["resources", "frontdoor"]
