"""gunicorn settings for the Toolforge webservice (see Procfile): access log to stdout, without
the Kubernetes health probe's requests, which would otherwise be most of the log, and without
secrets in request lines (OAuth authorization codes, invite codes: likeness.logs.scrub)."""

from gunicorn.glogging import Logger

from likeness.logs import scrub

accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


class QuietHealthLogger(Logger):
    def access(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 - gunicorn's API
        if environ.get("PATH_INFO") != "/healthz":
            super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 - gunicorn's API
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{raw_uri}e", "{query_string}e", "{path_info}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = scrub(atoms[key])
        return atoms


logger_class = QuietHealthLogger
