"""OpenAPI: the error answers of the API, added to every operation of the generated schema."""

ERROR_SCHEMAS = {
    "ErrorDetail": {
        "type": "object",
        "description": "A refusal with one message.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": (
            'Field name (or "non_field_errors") -> list of messages, nested for lists and '
            'objects; or {"detail": "..."} for a refusal that names no field.'
        ),
        "additionalProperties": {},
    },
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _json(schema: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: 400 / 401 / 403 / 404 / 409 / 415 where they can
    occur."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            has_input = "requestBody" in operation or any(
                parameter.get("in") == "query" for parameter in operation.get("parameters", [])
            )
            if has_input or method in WRITE_METHODS:
                responses.setdefault("400", _json("ValidationErrors", "Invalid input."))
            if "requestBody" in operation:
                responses.setdefault(
                    "415", _json("ErrorDetail", "The body's media type is not accepted.")
                )
            responses.setdefault("401", _json("ErrorDetail", "No token, or a token not valid."))
            responses.setdefault("403", _json("ErrorDetail", "The role lacks the permission."))
            if "{" in path:
                responses.setdefault("404", _json("ErrorDetail", "No such object."))
            if method in WRITE_METHODS:
                responses.setdefault(
                    "409",
                    _json(
                        "ValidationErrors",
                        "Refused by a rule across rows (taken, in use, licences).",
                    ),
                )
    return result
