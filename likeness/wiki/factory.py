"""Build the clients from the one Config (User-Agent from ``likeness.useragent``)."""

from __future__ import annotations

from dataclasses import dataclass

from likeness.config import Config
from likeness.useragent import user_agent
from likeness.wiki.api import ActionApi
from likeness.wiki.http import WikiSession, make_session


@dataclass(frozen=True)
class WikiClients:
    session: WikiSession
    commons: ActionApi
    wikidata: ActionApi


def make_clients(
    cfg: Config, access_token: str | None = None, *, read_maxlag: int | None = None
) -> WikiClients:
    """One session (optionally a user's bearer token) shared by Commons and Wikidata.
    The worker passes ``read_maxlag=cfg.wiki.maxlag`` so its crawls back off under lag."""
    session = make_session(user_agent(cfg), access_token=access_token, timeout=cfg.wiki.timeout)
    return WikiClients(
        session=session,
        commons=ActionApi(cfg.wiki.commons_api, session, write_maxlag=cfg.wiki.maxlag,
                          read_maxlag=read_maxlag),
        wikidata=ActionApi(cfg.wiki.wikidata_api, session, write_maxlag=cfg.wiki.maxlag,
                           read_maxlag=read_maxlag),
    )
