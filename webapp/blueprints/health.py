"""/healthz for the Toolforge (Kubernetes) probe: cheap, no database, no session."""

from flask import Blueprint

from webapp.access import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> tuple[str, int]:
    return "", 200
