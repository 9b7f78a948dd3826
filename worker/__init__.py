"""The background worker: ``python -m worker``. Any number may run on one database."""
