"""Languages: Accept-Language picks German, a user's choice overrides it, and the committed
.mo files match their .po sources (Toolforge's build only runs pip install)."""

from __future__ import annotations

import re

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.fixtures.web import csrf_form
from webapp.i18n import TRANSLATIONS


def _messages(catalog) -> dict:
    """What a catalogue translates: msgid -> msgstr, without the header (whose Generated-By
    names the Babel release, so bytes differ between releases while the content does not)."""
    def plain(value):  # plural forms are tuples in a .po catalogue, lists in a .mo one
        return tuple(value) if isinstance(value, list | tuple) else value

    return {plain(message.id): plain(message.string) for message in catalog
            if message.id and message.string and not message.fuzzy}


def test_compiled_catalogues_match_their_sources():
    po_files = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    assert po_files, "no catalogues"
    for po_path in po_files:
        with po_path.open("rb") as handle:
            source = _messages(read_po(handle, locale=po_path.parent.parent.name))
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} is missing: run python -m webapp.i18n"
        with mo_path.open("rb") as handle:
            compiled = _messages(read_mo(handle))
        assert len(source) > 100 and compiled == source, (
            f"{mo_path} is stale: run python -m webapp.i18n")


def test_a_po_change_without_recompiling_is_caught():
    po_path = next(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale="de")
    with po_path.with_suffix(".mo").open("rb") as handle:
        compiled = _messages(read_mo(handle))
    assert _messages(catalog) == compiled
    catalog["Skip to content"].string = "Weiter zum Inhalt"
    assert _messages(catalog) != compiled


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


FORMAL = re.compile(r"\b(Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihres)\b")


def test_german_addresses_the_reader_with_du_throughout():
    """Like MediaWiki's German interface and the German Wikimedia projects: "du", never
    "Sie". Capitalised Sie/Ihr/Ihnen in running text is the formal address; a sentence that
    would start with "Sie" meaning "it" or "they" is worded differently, so this stays strict."""
    with (TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    formal = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if text and FORMAL.search(text):
                formal.append(f"{message.id!r}: {text}")
    assert not formal, "formal address in the German catalogue:\n" + "\n".join(formal)
    du = [m for m in catalog if m.string and re.search(r"\b(du|dein\w*|dich|dir)\b",
                                                        str(m.string), re.IGNORECASE)]
    assert len(du) >= 20      # the check reads the real catalogue, which addresses people


def test_the_formal_check_catches_sie():
    assert FORMAL.search("Ziehen Sie einen Rahmen um das Gesicht.")
    assert FORMAL.search("Ihre Antworten bleiben.")
    assert not FORMAL.search("Ziehe einen Rahmen um das Gesicht; die Antworten bleiben.")
