"""How the contracts' JSON Schemas are written from the models (OpenAPI and AsyncAPI alike).

What the server sends always carries every field of its model (``server/http/json.py`` writes
them all), so in a document's serialization schemas a field with a default is still required:
the browser app's types say "always there, maybe null", not "maybe absent". The exception is a
field declared ``absent()`` (``chat/models.py``: left out while it has nothing to say, such as a
problem's ``errors`` or a TURN server's credentials): it stays optional, and never null."""

from __future__ import annotations

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema


class ContractSchema(GenerateJsonSchema):
    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None and not field.get(
                "serialization_exclude"
            )
        return super().field_is_required(field, total)
