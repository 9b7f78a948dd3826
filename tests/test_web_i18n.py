"""Languages: Accept-Language picks German, a user's choice overrides it, and the committed
.mo files match their .po sources (Toolforge's build only runs pip install)."""

from __future__ import annotations

import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.fixtures.web import csrf_form
from webapp.i18n import TRANSLATIONS


def test_compiled_catalogues_match_their_sources():
    po_files = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    assert po_files, "no catalogues"
    for po_path in po_files:
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        expected = io.BytesIO()
        write_mo(expected, catalog, use_fuzzy=False)
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists() and mo_path.read_bytes() == expected.getvalue(), (
            f"{mo_path} is stale: run python -m webapp.i18n")


def test_accept_language_and_user_choice(web_app):
    client = web_app.test_client()
    german = client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    page = german.get_data(as_text=True)
    assert '<html lang="de">' in page and "Zum Inhalt springen" in page
    english = client.get("/", headers={"Accept-Language": "fr,en;q=0.5"})
    assert "Skip to content" in english.get_data(as_text=True)
    client.get("/")
    response = client.post("/locale", data={"lang": "de", "next": "/leaderboard",
                                            **csrf_form(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/leaderboard"
    chosen = client.get("/leaderboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Bestenliste" in chosen
    # An unknown language is ignored rather than stored.
    client.post("/locale", data={"lang": "xx", **csrf_form(client)})
    with client.session_transaction() as session:
        assert session["lang"] == "de"
