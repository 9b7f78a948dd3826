"""Why an edit ended as it did, in words, and what to do about it (the edits page and API).

Keys are the ``error_code`` values the sender records (likeness/edits/sender.py) and the API
error codes Commons answers with; anything else gets the generic text plus Commons' message.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RETRY_LATER = _l("Press 'Retry failed edits' later.")
LOG_IN_AGAIN = _l("Log out, log in again, then press 'Retry failed edits'.")
NOTHING = _l("Nothing to do.")

REASONS: dict[str, tuple[str, str]] = {
    "login_required": (_l("Wikimedia no longer accepts your login for Likeness (it was "
                          "revoked or has expired)."), LOG_IN_AGAIN),
    "oauth_unavailable": (_l("Wikimedia's login service did not answer."), RETRY_LATER),
    "no_sender": (_l("The account that asked for this edit has been deleted."),
                  _l("Send the project's edits again with your account.")),
    "permissiondenied": (_l("Commons refused the edit: the account is blocked or may not "
                            "edit this file."),
                         _l("Check the account's block log on Commons; once it can edit "
                            "again, press 'Retry failed edits'.")),
    "blocked": (_l("The account is blocked on Commons."),
                _l("Once the block has ended, press 'Retry failed edits'.")),
    "autoblocked": (_l("The account's IP address is blocked on Commons."),
                    _l("Once the block has ended, press 'Retry failed edits'.")),
    "protectedpage": (_l("The file page is protected against editing."),
                      _l("Ask on the file's talk page for the statement to be added.")),
    "cascadeprotected": (_l("The file page is protected against editing."),
                         _l("Ask on the file's talk page for the statement to be added.")),
    "no-such-entity": (_l("The file no longer exists on Commons (deleted or renamed)."),
                       NOTHING),
    "badtoken": (_l("Commons kept refusing the edit token."), RETRY_LATER),
    "maxlag": (_l("Commons was overloaded; the edit waits and is sent automatically."),
               NOTHING),
    "failed-save": (_l("Commons is limiting how fast edits are saved; the edit waits."),
                    NOTHING),
    "http-429": (_l("Commons asked Likeness to slow down; the edit waits."), NOTHING),
    "unknown_outcome": (_l("The answer to the edit got lost; Likeness checks the file again "
                           "before doing anything more."), NOTHING),
    "too_many_rounds": (_l("The edit failed repeatedly and was put back for later."),
                        RETRY_LATER),
    "abusefilter-disallowed": (_l("A Commons abuse filter refused the edit."),
                               _l("Open the file on Commons to see why.")),
    "abusefilter-warning": (_l("A Commons abuse filter warned about the edit."),
                            _l("Open the file on Commons to see why.")),
    "internal": (_l("Likeness itself failed on this edit (a bug)."),
                 _l("Press 'Retry failed edits'; if it fails again, report it.")),
    "already_depicted": (_l("The file already has this 'depicts' statement."), NOTHING),
    "depicted_more_specifically": (_l("The file already depicts an item about this person (a "
                                      "portrait, a statue…), so the statement would repeat it."),
                                   NOTHING),
    "protected": (_l("The file page is protected; Likeness leaves protected files to people "
                     "editing by hand."),
                  _l("Ask on the file's talk page for the statement to be added.")),
    "changed_since": (_l("Someone changed the statement after Likeness wrote it, so it was "
                         "left in place."), NOTHING),
    "face_rejected": (_l("The face was rejected before the edit was sent."), NOTHING),
    "undone": (_l("Cancelled by Undo before it was sent."), NOTHING),
    "cancelled": (_l("Cancelled before it was sent."),
                  _l("Press 'Send' to queue it again.")),
}
GENERIC = (_l("Commons refused the edit."), _l("Press 'Retry failed edits'; if it keeps "
                                               "failing, open the file on Commons."))


def reason(code: str | None, message: str | None) -> dict[str, str] | None:
    """``{"text", "todo", "detail"}`` for an edit's recorded code, or None when it has none."""
    if not code:
        return None
    text, todo = REASONS.get(code, GENERIC)
    return {"text": str(text), "todo": str(todo), "detail": message or ""}
