"""Twilio-style list pages: `PageSize`, `Page` and `PageToken` in, the list and its `meta` out."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode

from flask import request

from ..errors import invalid
from . import forms, render


@dataclass(frozen=True)
class PageRequest:
    page: int
    size: int
    offset: int  # of the page's first row in the whole list
    token: bool  # whether the request carried a PageToken (then `url` repeats it)


def requested() -> PageRequest:
    """The page the request asks for; 60200 naming the parameter when one is out of range."""
    size = forms.integer(request.args, "PageSize", 1, 1000) or 50
    page = forms.integer(request.args, "Page", 0, 10**6) or 0
    token = request.args.get("PageToken")
    offset = page * size
    if token:
        if not re.fullmatch(r"PT\d{1,9}", token):
            raise invalid("Invalid parameter `PageToken`: use the next_page_url of a previous page.")
        offset = int(token[2:])
    return PageRequest(page, size, offset, bool(token))


def answer(key: str, path: str, rows: list, render_row: Callable, wanted: PageRequest, root: str = "v2",
           filters: dict[str, str] | None = None) -> dict:
    """The list body for `path` (under /v2, or `root`): `rows` are up to wanted.size + 1 rows
    read from wanted.offset; the one beyond the page only tells that there is a next page. The
    `filters` the list was read with (query parameters) are repeated in each page's URL."""
    def page_url(number: int, start: int | None = None) -> str:
        query = {**(filters or {}), "PageSize": wanted.size, "Page": number}
        if start is not None:
            query["PageToken"] = f"PT{start}"
        return render.resource_url(f"{path}?{urlencode(query)}", root)

    page, size, offset = wanted.page, wanted.size, wanted.offset
    return {
        key: [render_row(row) for row in rows[:size]],
        "meta": {
            "page": page, "page_size": size, "key": key,
            "first_page_url": page_url(0),
            "previous_page_url": page_url(page - 1, max(offset - size, 0)) if page > 0 else None,
            "url": page_url(page, offset if wanted.token else None),
            "next_page_url": page_url(page + 1, offset + size) if len(rows) > size else None,
        },
    }
