"""Fuzz runs send thousands of deliberately bad requests and messages: keep their expected warnings (404s, failed
authentications, dead letters) out of the output so that the run's figures stay readable under `-s`."""

import logging

import pytest

NOISY = ("django.request", "config.partner_api.authentication", "config.partner_api.throttling", "notifications.ingest")


@pytest.fixture(autouse=True)
def quiet_expected_warnings():
    loggers = [logging.getLogger(name) for name in NOISY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
