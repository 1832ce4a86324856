"""JSON Schema of every document kind, for editors (YAML language server) and CI."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from elementafeeds.config.models import Connection, Feed, Network, Site

SCHEMA_ID = "https://elementafeeds.example/schema/ef.json"

_PRESET: dict[str, Any] = {
    "type": "object",
    "title": "Preset",
    "description": "A product-type template (overrides or extends a built-in preset).",
    "properties": {
        "kind": {"const": "preset"},
        "name": {"type": "string"},
        "extends": {"type": "string", "description": "Built-in or workspace preset to extend."},
    },
    "required": ["kind", "name"],
}


def json_schema() -> dict[str, Any]:
    """One schema that accepts any single document of any kind (one per `---` section)."""
    documents = Annotated[Union[Site, Feed, Network, Connection], Field(discriminator="kind")]
    schema = TypeAdapter(documents).json_schema(by_alias=True)
    schema["oneOf"] = [*schema.pop("oneOf"), _PRESET]
    schema.pop("discriminator", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ElementaFeeds workspace document",
        **schema,
    }
