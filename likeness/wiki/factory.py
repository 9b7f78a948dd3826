"""Every Wikimedia client is built here, from the one Config, for one of a few uses.

A use says how patient a caller may be. A person waiting for a page gets one short try; the
worker gets no waiting at all (a throttled or lagged answer becomes a typed error and the work is
deferred, so the loop keeps its heartbeat); the edit sender retries a read briefly and never a
write; tests, benchmarks and scripts may wait out maxlag. The User-Agent always comes from
``likeness.useragent``.
"""

from __future__ import annotations

from dataclasses import dataclass

from likeness.config import Config
from likeness.useragent import user_agent
from likeness.wiki.api import ActionApi
from likeness.wiki.http import HttpRetry, WikiSession, make_session


@dataclass(frozen=True)
class Use:
    """How one kind of caller talks to the wikis."""

    timeout: float | None           # seconds per request; None: cfg.wiki.timeout
    http_retry: HttpRetry         # GET retries on 429/5xx/connection errors (never POST)
    maxlag_retries: int             # GETs repeated after maxlag, waiting Retry-After
    read_maxlag: bool = False       # send maxlag with reads too, so they back off under lag
    max_wait: float = 60.0          # cap on one maxlag wait


INTERACTIVE = Use(timeout=3.0, http_retry=HttpRetry(attempts=1), maxlag_retries=0,
                  max_wait=0.0)
WORKER = Use(timeout=10.0, http_retry=HttpRetry(attempts=1), maxlag_retries=0,
             read_maxlag=True)
SENDER = Use(timeout=None, http_retry=HttpRetry(attempts=2, backoff=1.0, max_wait=5.0),
             maxlag_retries=0)
OAUTH = Use(timeout=10.0, http_retry=HttpRetry(attempts=2, backoff=0.5, max_wait=2.0),
            maxlag_retries=0)
PATIENT = Use(timeout=None, http_retry=HttpRetry(), maxlag_retries=3)


@dataclass(frozen=True)
class WikiClients:
    session: WikiSession
    commons: ActionApi
    wikidata: ActionApi


def session_for(cfg: Config, use: Use, access_token: str | None = None) -> WikiSession:
    """An HTTP session with the tool's User-Agent (and a user's bearer token, if given)."""
    timeout = cfg.wiki.timeout if use.timeout is None else min(use.timeout, cfg.wiki.timeout)
    return make_session(user_agent(cfg), access_token=access_token, timeout=timeout,
                        retry=use.http_retry)


def api_for(cfg: Config, url: str, use: Use, session: WikiSession) -> ActionApi:
    return ActionApi(url, session, write_maxlag=cfg.wiki.maxlag,
                     read_maxlag=cfg.wiki.maxlag if use.read_maxlag else None,
                     maxlag_retries=use.maxlag_retries, max_wait=use.max_wait)


def make_clients(cfg: Config, access_token: str | None = None, *,
                 use: Use = PATIENT) -> WikiClients:
    """Commons and Wikidata clients sharing one session (optionally a user's token)."""
    session = session_for(cfg, use, access_token)
    return WikiClients(session=session,
                       commons=api_for(cfg, cfg.wiki.commons_api, use, session),
                       wikidata=api_for(cfg, cfg.wiki.wikidata_api, use, session))


def download_session(cfg: Config) -> WikiSession:
    """For thumbnails from the upload host: one try (the worker defers, never waits)."""
    return make_session(user_agent(cfg), timeout=cfg.worker.download_timeout,
                        retry=HttpRetry(attempts=1))
