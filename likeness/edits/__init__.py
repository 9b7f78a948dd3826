"""Writing depicts (P180) statements with face regions (P2677) to Commons.

* ``plan``   which statements a project wants (human-confirmed faces only, one per file), the
             preview shown before sending, and queueing them (``likeness.db.edits``).
* ``sender`` sends one claimed edit: read the live entity, decide add / qualify / skip /
             remove, POST once, record the outcome; errors mapped by ``likeness.wiki.errors``.

The worker side is ``worker/edits.py``; the pages are ``webapp/blueprints/edits.py``.
"""
