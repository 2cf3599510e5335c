"""GET /openapi.json: the OpenAPI description of telverify's HTTP API (docs/openapi.md).

The document is built by verify/api/openapi_build.py and committed as openapi.json beside this
module; this view only serves it, with `servers` set to the deployment's PUBLIC_BASE_URL so that
a client generated from it calls this telverify. It holds no secret, so it answers without
credentials, and it changes only when telverify is upgraded: caches may keep it for an hour
and revalidate it by its ETag after that."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request

from ..core import core

DOCUMENT = Path(__file__).with_name("openapi.json")

bp = Blueprint("openapi", __name__)


@cache
def _served(base_url: str) -> bytes:
    document = json.loads(DOCUMENT.read_text())
    document["servers"] = [{"url": base_url, "description": "This telverify (its PUBLIC_BASE_URL)"}]
    return json.dumps(document, ensure_ascii=False).encode()


@bp.get("/openapi.json")
def openapi_json():
    answer = Response(_served(core().settings.signature_base_url), mimetype="application/json")
    answer.headers["Cache-Control"] = "public, max-age=3600"
    answer.add_etag()
    return answer.make_conditional(request)
