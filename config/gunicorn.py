"""Gunicorn's settings for the web process: `gunicorn -c python:config.gunicorn config.wsgi --bind … --workers …`
(Procfile, Dockerfile, docker-compose.yml). Gunicorn writes its access log (the raw request line, which may carry a
card number in a URL) and its error log through its own loggers, outside Django's LOGGING: the logger class below
makes each of their handlers write masked lines, as every other log line is (config/logging.py)."""

from gunicorn.glogging import Logger

from config.logging import add_masking

accesslog = "-"  # stdout
errorlog = "-"  # stderr


class MaskingLogger(Logger):
    """Gunicorn's logger, with card numbers masked and tokens redacted in every line of both logs."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                add_masking(handler)


logger_class = MaskingLogger
