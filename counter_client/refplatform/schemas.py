"""Request and response models of the HTTP contract, as the OpenAPI document shows them.

Most answers are built as JSON text for speed (stored canonical JSON joined together), so these
models describe the wire format for the document and the client's authors; request bodies are
validated with them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from counter_client.domain.catalogue import Agreement, Department, Guide, Region

DOMAIN_TYPES = (Guide, Department, Agreement, Region)


def _ref(model: type) -> Any:
    """A body element that is a domain struct: validated by the domain type, documented by the
    schema msgspec derives from it (merged into the document by ``domain_schemas``)."""
    return Annotated[dict, WithJsonSchema({"$ref": f"#/components/schemas/{model.__name__}"})]


def domain_schemas() -> dict[str, Any]:
    """JSON Schemas of the domain structs, named as the ``$ref``s above expect."""
    _, components = msgspec.json.schema_components(DOMAIN_TYPES, ref_template="#/components/schemas/{name}")
    return components

MAX_CODE_CHARS = 64


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuideEntry(_Wire):
    code: str = Field(description="业务办理项编码")
    version: int = Field(description="事项版本")
    hash: str = Field(description="SHA-256 of the guide's canonical JSON; an opaque change marker")


class Manifest(_Wire):
    catalogue_id: str = Field(description="Identity of this catalogue's version sequence; when it changes "
                              "(the platform's catalogue was re-created), versions held by a client mean "
                              "nothing and the client compares the full manifest instead of asking a delta")
    catalogue_version: int = Field(description="Catalogue version; grows by one per change set")
    generated_at: str = Field(description="When this catalogue version was made (UTC, ISO 8601)")
    guide_count: int
    guides: list[GuideEntry]
    departments_version: int
    agreements_version: int
    regions_version: str = Field(description="Cut-off date of the region codes, e.g. 2023-06-30")


class Changes(_Wire):
    catalogue_id: str = Field(description="As in the manifest")
    since: int
    catalogue_version: int
    changed: list[GuideEntry] = Field(description="Guides added or changed after `since`: fetch them")
    removed: list[str] = Field(description="Codes of guides removed after `since`: drop them")


class BatchRequest(_Wire):
    codes: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS)]] = Field(
        description="Guide codes; at most 500 per request (more: 413 batch_too_large)"
    )


class BatchResponse(_Wire):
    guides: list[_ref(Guide)]
    missing: list[str] = Field(description="Requested codes that are unknown or removed")


class DepartmentList(_Wire):
    version: int
    departments: list[_ref(Department)]


class AgreementList(_Wire):
    version: int
    agreements: list[_ref(Agreement)]


class RegionList(_Wire):
    version: str
    source: str
    regions: list[_ref(Region)]


class FieldError(_Wire):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details (media type application/problem+json); extension members as listed."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str = Field(description="A sentence in Chinese fit to show a clerk")
    code: str = Field(description="Machine-readable reason, e.g. delta_unavailable, batch_too_large")
    errors: list[FieldError] | None = Field(default=None, description="Per-field errors (422 only)")
    catalogue_version: int | None = Field(default=None, description="Current catalogue version (410 only)")
    oldest_since: int | None = Field(default=None, description="Oldest `since` a delta is offered for (410 only)")
    max_codes: int | None = Field(default=None, description="Most codes one batch may ask for (413 only)")
