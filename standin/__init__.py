"""A local stand-in for Wikimedia Commons, Wikidata and Meta OAuth 2.0, driven by a catalog.

    from standin import StandIn, build_from_faces
    catalog = build_from_faces("../shared/faces", "/tmp/catalog")
    with StandIn(catalog) as s:
        cfg = load_config(overrides=s.config_overrides())
"""

from standin.catalog import Catalog, build_from_faces
from standin.server import StandIn

__all__ = ["Catalog", "StandIn", "build_from_faces"]
