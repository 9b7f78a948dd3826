"""Languages: Flask-Babel with English and German; catalogues in translations/<lang>/.

The locale comes from the user's choice (``session["lang"]``, set by POST /locale) or else the
browser's Accept-Language. Compiled ``.mo`` files are committed, because Toolforge's build only
runs pip install; after editing a ``.po`` file run ``python -m webapp.i18n`` (a test checks that
every ``.mo`` matches its ``.po``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, redirect, request, session
from flask_babel import Babel
from werkzeug.wrappers import Response

from likeness.config import REPO_ROOT
from webapp.access import public
from webapp.security import safe_next

TRANSLATIONS = REPO_ROOT / "translations"
LANGUAGES = {"en": "English", "de": "Deutsch"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


@bp.post("/locale")
@public
def set_locale() -> Response:
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


def init_i18n(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES


def compile_catalogues(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every translations/<lang>/LC_MESSAGES/messages.po to .mo; return the .mo paths."""
    written = []
    for po_path in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogues():
        print(path.relative_to(REPO_ROOT))
    sys.exit(0)
