"""Twilio's v2010 list page shape, shared by the list endpoints."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from flask import Response, jsonify

from .errors import twilio_error


def list_page(key: str, items: list, args: Any, base: str, filters: dict[str, str],
              render: Callable[[dict], dict]) -> Response:
    """items newest first; `args` the query args (PageSize, Page)."""
    try:
        page_size = max(1, min(int(args.get("PageSize", 50)), 1000))
        page = max(0, int(args.get("Page", 0)))
    except ValueError:
        return twilio_error(400, 20001, "Invalid PageSize or Page")
    start = page * page_size
    chunk = items[start:start + page_size]

    def page_uri(n: int) -> str:
        return base + "?" + urlencode({**filters, "PageSize": page_size, "Page": n})

    return jsonify({
        key: [render(item) for item in chunk],
        "start": start, "end": start + max(len(chunk) - 1, 0),
        "page": page, "page_size": page_size, "uri": page_uri(page),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if start + page_size < len(items) else None,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
    })
