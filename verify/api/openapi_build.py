"""Builds verify/api/openapi.json, the OpenAPI description /openapi.json serves, from Twilio's own
description of Verify v2 and our overlay (verify/api/openapi_overlay.json):

    python -m verify.api.openapi_build [path/to/twilio_verify_v2.json]

The description is a generated artefact, committed, rather than kept by hand: Twilio's text
(operationIds, schema names, parameters, descriptions) is some 500 KB of JSON that Twilio
revises, and the SDKs telverify promises to serve are generated from it. Building from it
keeps every word of Twilio's that holds for us exactly as Twilio wrote it, and puts all that
is ours (what we add, what we drop, where Twilio's description is wrong) in one short overlay
that a reviewer reads whole. The output is committed because a running telverify has no
copy of Twilio's spec, and tests/test_openapi.py fails when it differs from a fresh build.

The overlay holds:
- `keep`: Twilio's paths, and their methods, that telverify implements (every other is dropped);
- `patch`: a JSON Merge Patch (RFC 7386) over what is kept: our paths, fields, parameters and
  enum values added (each marked `x-telverify: true`), Twilio's parameters that telverify
  refuses removed (`null`), Twilio's texts corrected where they do not hold for us;
- `errors`: the error answers every operation may give, and those of some operations only.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
OVERLAY = HERE / "openapi_overlay.json"
OUTPUT = HERE / "openapi.json"
METHODS = ("get", "post", "delete")
# What Twilio's description carries that telverify's must not: its servers (a client built
# from it would call Twilio), its answers' CORS headers (telverify sends none), and its
# examples, which show Twilio's values (`"channel": "SMS"` among them, outside its own enum).
DROPPED_KEYS = {"servers", "examples", "headers"}


def merge(target, patch):
    """RFC 7386: `patch` over `target`; a null removes, an object merges, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def _without(node, keys: set[str]):
    if isinstance(node, dict):
        return {k: _without(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_without(item, keys) for item in node]
    return node


def _kept_paths(twilio: dict, keep: dict[str, list[str]]) -> dict:
    paths = {}
    for path, methods in keep.items():
        item = twilio["paths"][path]  # a KeyError names a path Twilio no longer describes
        paths[path] = {k: v for k, v in item.items() if k not in METHODS or k in methods}
        missing = set(methods) - set(item)
        if missing:
            raise SystemExit(f"Twilio's description has no {sorted(missing)} on {path}")
    return paths


def _add_errors(document: dict, errors: dict) -> None:
    """Every operation's error answers: `errors["all"]` under /v2 and /admin, plus its own."""
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            statuses = list(errors.get(f"{method.upper()} {path}", []))
            if path.startswith(("/v2/", "/admin/")):
                statuses += errors["all"]
            for status in statuses:
                operation["responses"].setdefault(status, {"$ref": f"#/components/responses/error{status}"})


def _referenced(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _referenced(value, found)
    elif isinstance(node, list):
        for item in node:
            _referenced(item, found)


def _prune_schemas(document: dict) -> None:
    """Drop the schemas of the resources telverify does not implement (nothing refers to them)."""
    schemas = document["components"]["schemas"]
    found: set[str] = set()
    _referenced({k: v for k, v in document.items() if k != "components"}, found)
    _referenced(document["components"].get("responses", {}), found)
    while True:
        more = set(found)
        _referenced([schemas[name] for name in found], more)
        if more == found:
            break
        found = more
    document["components"]["schemas"] = {k: v for k, v in schemas.items() if k in found}


def build(twilio: dict, overlay: dict) -> dict:
    document = {key: twilio[key] for key in ("openapi", "info", "security", "tags", "components")}
    document["paths"] = _kept_paths(twilio, overlay["keep"])
    document = _without(document, DROPPED_KEYS)
    document = merge(document, overlay["patch"])
    _add_errors(document, overlay["errors"])
    _prune_schemas(document)
    used = [tag for item in document["paths"].values() for method in METHODS
            for tag in item.get(method, {}).get("tags", [])]
    document["tags"] = [{"name": name} for name in dict.fromkeys(sorted(used))]
    return document


def render(document: dict) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    folder = os.environ.get("TWILIO_OAI_DIR") or HERE.parents[2] / "shared" / "twilio-oai"  # as tests/prism.py
    source = Path(argv[0]) if argv else Path(folder) / "twilio_verify_v2.json"
    document = build(json.loads(source.read_text()), json.loads(OVERLAY.read_text()))
    OUTPUT.write_text(render(document))
    print(f"wrote {OUTPUT} ({len(document['paths'])} paths)")


if __name__ == "__main__":
    main(sys.argv[1:])
