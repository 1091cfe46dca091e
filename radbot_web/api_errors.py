"""One error shape for the API: {"detail": ..., and any per-field or per-file reasons};
and the schema that says so.

``document_errors`` (a drf-spectacular post-processing hook, installed on the schema
view) adds to every operation the statuses DRF itself answers before a view runs, so
the schema lists every status the server can send:
- 401 and 403 wherever a credential is required (no or a bad token; a role without the
  capability);
- 400 and 415 wherever a request body is read (a body that does not parse; a content
  type the operation does not take);
- 429 on the token endpoint (throttled like the login page), and its 200 answer (the
  token) where the view does not declare it;
- 503 everywhere: the database is unavailable (radbot_web/middleware_db.py).
Operations document their own 2xx, 404, 409 and 413 with ``extend_schema``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import exception_handler as drf_exception_handler


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler: JSON under /api/ and /dicomweb/, the site's page elsewhere."""
    if request.path.startswith(("/api/", "/dicomweb/")):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    return response


class ErrorSerializer(serializers.Serializer):
    """The API's error body: ``detail`` says what went wrong; a refused field or file has
    its own key with its reasons."""

    detail = serializers.JSONField(required=False, help_text="A message, or a list of messages.")


ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": ErrorSerializer.__doc__.strip(),
    "properties": {"detail": {"description": "A message, or a list of messages."}},
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "The request body could not be parsed or was refused; the reasons are in the body.",
    "401": "No credential, or one that is not valid (send `Authorization: Token <key>`).",
    "403": "Your role does not allow this operation.",
    "415": "The request body has a content type this operation does not take.",
    "429": "Too many failed attempts: try again later (the body says when).",
    "503": "The database is unavailable; nothing was saved. Try again (see Retry-After).",
}
TOKEN_OPERATION = ("/api/auth/token", "post")
# Throttled operations (besides what their views document).
THROTTLED = {TOKEN_OPERATION}
TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "description": "Send it as `Authorization: Token <token>`."}
    },
    "required": ["token"],
    "additionalProperties": True,
}


def _requires_credentials(operation: dict[str, Any]) -> bool:
    security = operation.get("security")
    return bool(security) and {} not in security


def _token_answer(operation: dict[str, Any], components: dict[str, Any]) -> None:
    """Without its own response schema the token view is documented as answering with its
    request (username and password); it answers with the token."""
    content = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    documented = components.get(ref.rsplit("/", 1)[-1], content.get("schema", {}))
    if "token" not in documented.get("properties", {}):
        operation["responses"]["200"] = {
            "description": "The API token.",
            "content": {"application/json": {"schema": TOKEN_SCHEMA}},
        }


def document_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = []
            if _requires_credentials(operation):
                codes += ["401", "403"]
            if "requestBody" in operation:
                codes += ["400", "415"]
            if (path, method) in THROTTLED:
                codes.append("429")
            codes.append("503")
            for code in codes:
                operation["responses"].setdefault(
                    code, {"description": _DESCRIPTIONS[code], "content": error}
                )
            if (path, method) == TOKEN_OPERATION:
                _token_answer(operation, components)
    return result


class SchemaApi(SpectacularAPIView):
    """The OpenAPI schema, for signed-in users and token clients alike (DRF authenticates
    here, not the login-redirect middleware)."""

    permission_classes = [IsAuthenticated]
    custom_settings = {
        # Request bodies get their own components, with what the serializers refuse
        # (a blank required string: minLength 1), so the schema says what is valid.
        "COMPONENT_SPLIT_REQUEST": True,
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",  # drf-spectacular's default
            "radbot_web.api_errors.document_errors",
        ],
    }

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
