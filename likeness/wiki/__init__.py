"""The one Wikimedia client (Commons, Wikidata, Meta OAuth 2.0) used by the web app and worker.

Modules: ``http`` (session: User-Agent, timeouts, GET-only retries), ``api`` (ActionApi),
``errors`` (ApiError + typed outcomes), ``commons``, ``wikidata``, ``writes``, ``oauth``,
``region`` (P2677 values), ``titles``, ``statements``; ``factory`` builds them from a Config.
"""
