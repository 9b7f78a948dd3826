"""Database access: the schema, engines, and the query modules (all SQL lives in this package)."""
