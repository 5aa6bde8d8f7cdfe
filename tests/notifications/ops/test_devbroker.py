"""`python -m notifications.ops.devbroker`: the Tansu broker of `make run`, with its topic, and the `--wait` guard."""

import os
import signal
import subprocess
import sys

import pytest
from confluent_kafka.admin import AdminClient

from tests.fixtures.processes import ROOT, ManagedProcess, free_port

pytestmark = pytest.mark.e2e


def _wait(port: int, topic: str, timeout: str = "20") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notifications.ops.devbroker", "--wait", "--port", str(port), "--topic", topic,
         "--timeout", timeout],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


def test_starts_tansu_creates_the_topic_and_stops_on_sigterm():
    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "KAFKA_TOPIC_PARTITIONS": "2"}
    command = [sys.executable, "-m", "notifications.ops.devbroker", "--topic", "ops-demo"]
    broker = ManagedProcess("devbroker", command, env)
    try:
        waited = _wait(port, "ops-demo")
        assert waited.returncode == 0, waited.stderr
        assert "topic ops-demo ready" in waited.stdout

        metadata = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=5)
        assert len(metadata.topics["ops-demo"].partitions) == 2
        assert "created with 2 partition(s)" in broker.output()

        broker.signal(signal.SIGTERM)  # what honcho sends on Ctrl-C: the broker itself gets it (exec)
        broker.proc.wait(10)
        assert not broker.alive()
    finally:
        broker.kill()


def test_wait_gives_up_with_exit_1_when_no_broker():
    waited = _wait(free_port(), "nothing", timeout="1")

    assert waited.returncode == 1
    assert "not ready after 1s" in waited.stderr
