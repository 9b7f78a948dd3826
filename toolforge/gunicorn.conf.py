"""gunicorn settings for the Toolforge webservice (see Procfile): access log to stdout, without
the Kubernetes health probe's requests, which would otherwise be most of the log."""

from gunicorn.glogging import Logger

accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


class QuietHealthLogger(Logger):
    def access(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201 - gunicorn's API
        if environ.get("PATH_INFO") != "/healthz":
            super().access(resp, req, environ, request_time)


logger_class = QuietHealthLogger
