"""Shared bits of the subscriptions app's management commands."""

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand


def command_actor(command: str) -> str:
    """The audit actor of an ops command: the command and the OS user who ran it."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"manage.py {command} ({user})"


def write_json(command: BaseCommand, payload: Any) -> None:
    command.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str))
