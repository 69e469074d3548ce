"""Check HTTP exchanges against the Supabase Auth OpenAPI description (our copy of it).

:class:`Contract` turns the OpenAPI 3.0 schemas of ``supabase_auth_openapi.yaml`` into JSON
Schema (``$ref`` inlined, ``nullable`` honoured) and validates response bodies (and request
bodies) with ``jsonschema``. :class:`ContractRecorder` is an ASGI middleware that checks
every exchange of the fake server and records violations, so a test fails when the fake
drifts from the published contract.

Where the spec and the real service disagree, the rule used is written down here:

- Error bodies. The spec's ``ErrorSchema`` is the legacy format (``code`` = HTTP status as
  an integer, ``error_code``, ``msg``). Clients that send ``X-Supabase-Api-Version:
  2024-01-01`` (supabase-py does) get ``{"code": "<error code>", "message": ...}`` instead
  (GoTrue ``HTTPErrorResponse20240101``; supabase-py ``handle_exception``), which the spec
  at bc32168 does not describe: those are checked against ``ErrorSchema`` with ``code``
  a string and ``code``/``message`` required. Error statuses an operation does not list
  are checked against the error schema too (the spec: "HTTP 400 and 422 are used
  interchangeably", 5XX "should be handled globally").
- ``oneOf`` is checked as ``anyOf``: the alternatives (e.g. ``AccessTokenResponseSchema``
  / ``UserSchema`` of ``/signup``) have no required keys, so every object matches both
  and a strict ``oneOf`` would reject every answer.
- Request bodies: ``null`` members are dropped before the check (GoTrue decodes JSON
  ``null`` as the zero value; supabase-py sends ``"captcha_token": null``).
- Two operations supabase-py uses are missing from the spec: ``GET /reauthenticate``
  (documented as POST; GoTrue routes GET) and ``POST /admin/users`` (create user; GoTrue
  answers with the user object). They are checked against the POST ``/reauthenticate``
  response and ``UserSchema``; every other undocumented operation is a violation.
- Formats checked: ``uuid``, ``date-time``, ``email``; others (``phone``, ``uri``) are
  annotations only, as in most OpenAPI validators.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import yaml

SPEC_PATH = Path(__file__).with_name("supabase_auth_openapi.yaml")
PREFIX = "/auth/v1"
VERSIONED_ERRORS_FROM = "2024-01-01"


@functools.cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open() as fh:
        return yaml.safe_load(fh)


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value
        ):
            raise ValueError("not an RFC 3339 date-time")
        datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00")))
        return True

    @checker.checks("email")
    def _email(value: object) -> bool:
        return not isinstance(value, str) or value == "" or "@" in value

    return checker


FORMATS = _format_checker()


class Contract:
    """Schemas of the spec's operations, ready for ``jsonschema``."""

    KNOWN_GAPS: ClassVar[dict[tuple[str, str], tuple[str, str]]] = {
        ("get", "/reauthenticate"): ("post", "/reauthenticate"),
        ("post", "/admin/users"): ("schema", "UserSchema"),
    }

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec or load_spec()
        self._paths = []
        for template in self.spec["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self._paths.append((re.compile(f"^{pattern}$"), template))

    # Schema conversion -------------------------------------------------------------------
    def _resolve(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def to_json_schema(self, node: Any, depth: int = 0) -> Any:
        """OpenAPI 3.0 schema object → JSON Schema (draft 4 semantics)."""
        if depth > 40:
            raise ValueError("schema nesting too deep (cyclic $ref?)")
        if isinstance(node, list):
            return [self.to_json_schema(n, depth + 1) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self.to_json_schema(self._resolve(node["$ref"]), depth + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("example", "examples", "deprecated", "optional", "nullable", "xml"):
                continue
            if key == "properties" or key == "patternProperties":
                out[key] = {k: self.to_json_schema(v, depth + 1) for k, v in value.items()}
            elif key == "oneOf":
                out["anyOf"] = self.to_json_schema(value, depth + 1)
            else:
                out[key] = self.to_json_schema(value, depth + 1)
        if node.get("nullable"):
            if "type" in out:
                types = out["type"] if isinstance(out["type"], list) else [out["type"]]
                out["type"] = [*types, "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            else:
                out = {"anyOf": [out, {"type": "null"}]}
        return out

    def component(self, name: str) -> dict[str, Any]:
        return self.to_json_schema(self.spec["components"]["schemas"][name])

    def error_schema(self, *, versioned: bool) -> dict[str, Any]:
        schema = copy.deepcopy(self.component("ErrorSchema"))
        if versioned:
            schema["properties"]["code"] = {"type": "string"}
            schema["properties"]["message"] = {"type": "string"}
            schema["required"] = ["code", "message"]
        else:
            schema["required"] = ["code", "msg"]
        return schema

    # Operations --------------------------------------------------------------------------
    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        method = method.lower()
        for regex, template in self._paths:
            if regex.match(path):
                op = self.spec["paths"][template].get(method)
                return (template, op) if op is not None else None
        return None

    def _body_schema(self, holder: dict[str, Any]) -> tuple[bool, Any]:
        """(has JSON content, schema) of a response or request body object."""
        if "$ref" in holder:
            holder = self._resolve(holder["$ref"])
        content = holder.get("content") or {}
        media = content.get("application/json")
        if media is None:
            return False, None
        return True, self.to_json_schema(media.get("schema", {}))

    def response_schema(
        self, method: str, path: str, status: int, *, versioned: bool
    ) -> tuple[str, Any]:
        """(operation name, schema) for a response; schema ``None`` = no JSON body;
        raises ``LookupError`` for an undocumented operation or success status."""
        name, op = self._lookup(method, path)
        if isinstance(op, dict) and op.get("_schema") is not None:
            return name, op["_schema"]
        responses = op.get("responses", {})
        documented = responses.get(status, responses.get(str(status)))
        if status >= 400:
            if documented is None or not self._body_schema(documented)[0]:
                return name, self.error_schema(versioned=versioned)
            schema = self._body_schema(documented)[1]
            # Documented error bodies are ErrorSchema / RateLimitResponse, both legacy:
            # the versioned format replaces them (see the module docstring).
            return name, self.error_schema(versioned=versioned) if versioned else schema
        if documented is None:
            raise LookupError(f"{name}: status {status} is not documented")
        has_json, schema = self._body_schema(documented)
        return name, schema if has_json else None

    def request_schema(self, method: str, path: str) -> Any:
        try:
            _, op = self._lookup(method, path)
        except LookupError:
            return None
        body = op.get("requestBody") if isinstance(op, dict) else None
        if not body:
            return None
        return self._body_schema(body)[1]

    def _lookup(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        found = self.operation(method, path)
        if found is not None:
            return f"{method.upper()} {found[0]}", found[1]
        for (gap_method, gap_path), (kind, target) in self.KNOWN_GAPS.items():
            if method.lower() == gap_method and path == gap_path:
                if kind == "schema":
                    return f"{method.upper()} {path} (not in spec)", {
                        "_schema": self.component(target)
                    }
                found = self.operation(kind, target)
                if found is not None:
                    return f"{method.upper()} {path} (spec: {kind.upper()})", found[1]
        raise LookupError(f"{method.upper()} {path} is not in the spec")

    # Checks ------------------------------------------------------------------------------
    @staticmethod
    def _errors(schema: Any, instance: Any) -> list[str]:
        validator = jsonschema.Draft4Validator(schema, format_checker=FORMATS)
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    def check_response(
        self, method: str, path: str, status: int, body: bytes, *, versioned: bool
    ) -> tuple[str, list[str]]:
        """(operation name, violations) of one response."""
        try:
            name, schema = self.response_schema(method, path, status, versioned=versioned)
        except LookupError as exc:
            if status == 404 and self.operation(method, path) is None:
                return f"{method.upper()} <unknown path>", []  # not served, not documented
            return f"{method.upper()} {path}", [str(exc)]
        if schema is None:
            if status == 204 and body:
                return name, ["204 must have no body"]
            return name, []
        try:
            instance = json.loads(body or b"null")
        except ValueError:
            return name, [f"{status}: body is not JSON"]
        return name, [f"{status} {msg}" for msg in self._errors(schema, instance)]

    def check_request(self, method: str, path: str, body: bytes) -> list[str]:
        schema = self.request_schema(method, path)
        if schema is None or not body:
            return []
        try:
            instance = _drop_nulls(json.loads(body))
        except ValueError:
            return ["request body is not JSON"]
        return [f"request {msg}" for msg in self._errors(schema, instance)]


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _versioned(headers: dict[str, str]) -> bool:
    version = headers.get("x-supabase-api-version", "")
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", version)) and version >= VERSIONED_ERRORS_FROM


class ContractRecorder:
    """ASGI middleware: validate every exchange under ``/auth/v1`` against the spec."""

    def __init__(self, app: Any, contract: Contract | None = None, prefix: str = PREFIX) -> None:
        self.app = app
        self.contract = contract or Contract()
        self.prefix = prefix
        self.violations: list[str] = []
        self.exercised: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.violations.clear()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        request_body = bytearray()
        status = 0
        response_headers: dict[str, str] = {}
        response_body = bytearray()

        async def receive_wrapper():
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        async def send_wrapper(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.update(
                    {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
                )
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
        method = scope["method"]
        path = scope["path"].removeprefix(self.prefix) or "/"
        request_headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        name, problems = self.contract.check_response(
            method, path, status, bytes(response_body), versioned=_versioned(request_headers)
        )
        problems += self.contract.check_request(method, path, bytes(request_body))
        if 300 <= status < 400 and "location" not in response_headers:
            problems.append(f"{status} without Location")
        with self._lock:
            self.exercised[f"{name} -> {status}"] += 1
            self.violations.extend(f"{method} {path} -> {p}" for p in problems)
