"""/admin/Accounts/{sid}/Methods/Export and /Import: an account's entities and factors as JSON
lines, for backups and migrations (verify/methods/backup.py). The export is streamed, an entity
at a time; the import is read a line at a time, the one request of /admin with a large body."""
from __future__ import annotations

from typing import IO, Iterator

from flask import Response, jsonify, request

from .. import errors
from ..api import forms
from ..core import core
from ..errors import VerifyError
from . import bp
from .audited import acting_on

NDJSON = "application/x-ndjson"
MAX_IMPORT_BODY = 64 * 1024 * 1024  # bytes: this route's own limit, over the forms' MAX_BODY
MAX_LINE = 1024 * 1024  # bytes of one line: an entity with all its factors is tens of kB


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 1, the line), None for a line longer than MAX_LINE (read to its end)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


@bp.get("/Accounts/<account_sid>/Methods/Export")
def export_methods(account_sid):
    acting_on("methods.export").account(account_sid)
    # A generator: each line is read from Redis as the client takes it, never the whole export at once.
    return Response(core().backup.export(account_sid), mimetype=NDJSON, headers={
        "Content-Disposition": f'attachment; filename="telverify-methods-{account_sid}.ndjson"',
        "Cache-Control": "no-store"})


@bp.post("/Accounts/<account_sid>/Methods/Import")
def import_methods(account_sid):
    acting_on("methods.import").account(account_sid)
    if request.mimetype != NDJSON:
        raise VerifyError(errors.INVALID_PARAMETER, f"An import's body is an export's JSON lines, sent as {NDJSON}.",
                          415)
    dry_run = bool(forms.boolean(request.args, "DryRun"))
    request.max_content_length = MAX_IMPORT_BODY  # before the body is first read
    report = core().backup.import_lines(account_sid, _lines(request.stream), dry_run)
    return jsonify({
        "account_sid": account_sid,
        "dry_run": report.dry_run,
        "source": {name: report.source.get(name) for name in ("account_sid", "exported_at", "sealing_key_id")},
        "complete": report.complete,
        "imported": report.imported,
        "imported_factors": report.factors,
        "skipped_count": report.skipped_count,
        "skipped": report.skipped,
        "refused_count": report.refused_count,
        "refused": report.refused,
    })
