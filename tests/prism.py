"""Stoplight Prism serving Twilio's official REST API v2010 OpenAPI spec, as a contract peer.

Why this exists: our outbound Twilio REST calls (Messages, Calls) are made by the real `twilio`
library; pointing it at Prism checks every request we build against Twilio's own published
contract (required fields, types, enums, URI formats, form encoding, Basic auth) without
reaching Twilio. Nothing here knows about telverify: `prism_mock()` yields a base URL.

Prism comes from npm (`@stoplight/prism-cli`, pinned in package.json; `npm ci` installs it
into node_modules/). The spec is read from shared/twilio-oai/ beside the repo, or from
$TWILIO_OAI_DIR when that folder is not there.

The shared spec is never edited. A temporary copy is patched for a limitation of Prism's
request validation: a form-urlencoded array property with no `encoding` entry is
rejected as "must be array" -- for one value (StatusCallbackEvent=completed) and even for
repeated keys. Declaring `encoding: {Prop: {style: form, explode: true}}` (what Twilio
actually accepts: the key repeated once per value) makes Prism parse it as an array.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"
SPEC_NAME = "twilio_api_v2010.json"
FORM = "application/x-www-form-urlencoded"

# Flags: `-h/-p` bind to loopback on a free port; `--errors` makes violations marked as errors
# (request AND response) produce an error response rather than a best-effort mock answer.
# (Prism already answers an invalid request with a generated 422 when the spec defines no 4xx
# response, as Twilio's doesn't; `--errors` keeps that so and also fails on responses whose
# example breaks the response schema.) `--dynamic` is deliberately off: responses are Twilio's
# own static examples, so they are deterministic.
PRISM_FLAGS = ("--errors",)


def oai_dir() -> Path:
    """shared/twilio-oai beside the repo (as CI lays it out), else $TWILIO_OAI_DIR."""
    default = Path(__file__).resolve().parents[2] / "shared" / "twilio-oai"
    if (default / SPEC_NAME).is_file() or not os.environ.get("TWILIO_OAI_DIR"):
        return default
    return Path(os.environ["TWILIO_OAI_DIR"])


def spec_path() -> Path:
    return oai_dir() / SPEC_NAME


def prism_available() -> bool:
    """True when `npm ci` has installed Prism into the repo's node_modules."""
    return PRISM_BIN.is_file() and os.access(PRISM_BIN, os.X_OK)


def _resolve(spec: dict, node: dict) -> dict:
    """Follow local `#/...` $refs (the spec's only kind)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


def patch_spec(spec: dict) -> tuple[dict, list[str]]:
    """Return a patched deep copy of `spec` and a list of what was patched.

    For every form-urlencoded request body whose schema has array-typed properties, declare
    `encoding: {prop: {style: form, explode: true}}` for each of them (keeping any encoding the
    spec already gives).
    """
    spec = copy.deepcopy(spec)
    patched: list[str] = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            body = _resolve(spec, op["requestBody"])
            media = body.get("content", {}).get(FORM)
            if not media or "schema" not in media:
                continue
            schema = _resolve(spec, media["schema"])
            props = dict(schema.get("properties", {}))
            for sub in schema.get("allOf", []):
                props.update(_resolve(spec, sub).get("properties", {}))
            arrays = [name for name, prop in props.items() if _resolve(spec, prop).get("type") == "array"]
            if not arrays:
                continue
            encoding = media.setdefault("encoding", {})
            for name in arrays:
                encoding.setdefault(name, {}).update({"style": "form", "explode": True})
                patched.append(f"{method.upper()} {path} {name}")
    return spec, patched


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return text[-limit:] if text else "(no output)"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen, base_url: str, deadline: float) -> bool:
    """Poll until Prism answers HTTP (any status); False if it exits first."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            urllib.request.urlopen(base_url + "/", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True  # Prism's 404 for "/": it is serving.
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


@contextlib.contextmanager
def prism_mock(start_timeout: float = 90.0, attempts: int = 3, patch: bool = True) -> Iterator[str]:
    """Run `prism mock` on a patched temporary copy of the v2010 spec; yield its base URL.

    `patch=False` serves an unpatched copy (only to show the limitation the patch works around).
    Raises RuntimeError with Prism's output if it does not start within `start_timeout` s.
    """
    if not prism_available():
        raise FileNotFoundError(f"{PRISM_BIN} is missing: run `npm ci` in {REPO_ROOT}")
    source = spec_path()
    if not source.is_file():
        raise FileNotFoundError(f"Twilio's OpenAPI spec not found at {source} (set TWILIO_OAI_DIR)")
    with tempfile.TemporaryDirectory(prefix="prism-") as tmp:
        tmpdir = Path(tmp)
        spec = json.loads(source.read_text())
        if patch:
            spec, _ = patch_spec(spec)
        patched = tmpdir / SPEC_NAME
        patched.write_text(json.dumps(spec))
        failure = ""
        for attempt in range(1, attempts + 1):
            port = _free_port()
            base_url = f"http://127.0.0.1:{port}"
            log_path = tmpdir / f"prism-{attempt}.log"
            cmd = [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), *PRISM_FLAGS, str(patched)]
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
            try:
                if _wait_ready(proc, base_url, time.monotonic() + start_timeout):
                    yield base_url
                    return
                exited = proc.poll()
                failure = (
                    f"Prism ({' '.join(cmd)}) "
                    + (f"exited with {exited}" if exited is not None else f"not ready after {start_timeout:.0f} s")
                    + f"; its output:\n{_tail(log_path)}"
                )
                # Only a lost race for the port is worth another try.
                if exited is None or "EADDRINUSE" not in _tail(log_path):
                    break
            finally:
                _stop(proc)
        raise RuntimeError(failure)
