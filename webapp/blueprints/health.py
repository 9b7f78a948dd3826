"""/healthz for the Toolforge (Kubernetes) probe: cheap, no database, no session."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[str, int]:
    return "", 200
