"""The pages' messages are written in English, and said in the person's language where they are
shown (views/, with the catalogues of translations/). N_ marks one that is not in a call the
catalogue's extraction knows (babel.cfg: the Refusals' first argument, templates' _())."""
from __future__ import annotations

from ..locales import LANGUAGES  # noqa: F401  (the pages speak those the calls speak)


def N_(text: str) -> str:
    return text
