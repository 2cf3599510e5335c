"""Reading Twilio-style form parameters: names as in Verify, clear errors for everything else."""
from __future__ import annotations

import json
import re

from flask import request

from ..errors import invalid


def form(accepted: set[str], unsupported: set[str] = frozenset()) -> dict[str, str]:
    """The request's form as a dict; a parameter we do not implement is refused by name."""
    values = request.form.to_dict()
    for name in values:
        if name in unsupported:
            raise invalid(f"Parameter `{name}` is not supported by telverify.")
        if name not in accepted:
            raise invalid(f"Unknown parameter `{name}`; accepted here: {', '.join(sorted(accepted))}.")
    return values


def boolean(values: dict, name: str) -> bool | None:
    if name not in values:
        return None
    value = values[name].strip().lower()
    if value not in ("true", "false"):
        raise invalid(f"Invalid parameter `{name}`: it must be true or false.")
    return value == "true"


def integer(values: dict, name: str, low: int, high: int) -> int | None:
    if name not in values:
        return None
    raw = values[name].strip()
    number = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None  # ASCII digits only
    if number is None or not low <= number <= high:
        raise invalid(f"Invalid parameter `{name}`: it must be a whole number from {low} to {high}.")
    return number


def text(values: dict, name: str, max_length: int, required: bool = False) -> str | None:
    value = values.get(name)
    if value is None or not value.strip():
        if required:
            raise invalid(f"Missing required parameter `{name}`.")
        return None
    if len(value) > max_length:
        raise invalid(f"Invalid parameter `{name}`: at most {max_length} characters.")
    return value


def display_name(values: dict, name: str, max_length: int = 64, required: bool = False) -> str | None:
    """A name that is read or spoken to people: no control characters, nothing like markup."""
    value = text(values, name, max_length, required)
    if value and re.search(r"[\x00-\x1f\x7f<>]", value):
        raise invalid(f"Invalid parameter `{name}`: it is shown to people; no control characters or < >.")
    return value


def json_object(values: dict, name: str, valid, hint: str) -> dict | None:
    """A JSON object of at most 10 pairs (Tags, RateLimits); `valid(key, value)` judges each."""
    raw = values.get(name)
    if raw is None:
        return None
    try:
        # 10 short pairs never need more; the cap also bounds json's recursion.
        value = json.loads(raw) if len(raw) <= 4096 else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict) or len(value) > 10 or not all(
            isinstance(k, str) and valid(k, v) for k, v in value.items()):
        raise invalid(f"Invalid parameter `{name}`: {hint}")
    return value
