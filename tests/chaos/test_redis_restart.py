"""Workers survive broker restarts without a supervisor (issue: a worker exited on a Redis restart instead of
reconnecting). A real threads-pool worker on a private Redis server that is killed and started again five times,
with tasks in flight; after each restart the same worker process must consume new tasks. Part of `make test` (about
half a minute); `make chaos` repeats it under load with every other fault."""

import subprocess
import tempfile
import threading
import time

import pytest
from django.utils import timezone

from config.celery_app import app
from notifications.models import ServiceHeartbeat
from notifications.tasks import HEARTBEAT_TASK
from tests.fixtures.processes import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class PrivateRedis:
    def __init__(self) -> None:
        self.port, self.directory, self.process = free_port(), tempfile.mkdtemp(prefix="redis-restart-"), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory], stdout=subprocess.DEVNULL)
        wait_until(self._answers, 10, message="private redis-server")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False


def send_heartbeats(url: str, count: int) -> None:
    """Tasks for the worker, published straight to the private Redis (errors while it is down are fine)."""
    try:
        with app.connection_for_write(url) as connection:
            for _ in range(count):
                app.send_task(HEARTBEAT_TASK, kwargs={"source": "restart-test"}, connection=connection)
    except Exception:
        pass


RESTARTS = 5


def test_a_worker_reconnects_after_every_redis_restart(start_worker):
    redis = PrivateRedis()
    redis.start()
    stop = threading.Event()

    def keep_sending() -> None:  # tasks in flight (received, not yet acknowledged) whenever the broker goes away
        while not stop.is_set():
            send_heartbeats(redis.url, 5)
            time.sleep(0.02)

    producer = threading.Thread(target=keep_sending, daemon=True)
    try:
        worker = start_worker(REDIS_URL=redis.url, CACHE_URL=redis.url.replace("/0", "/1"))
        producer.start()
        for restart in range(RESTARTS):
            time.sleep(2.0)
            redis.kill()
            time.sleep(1.0)
            redis.start()
            mark = timezone.now()

            def consumed_again(mark=mark) -> bool:
                send_heartbeats(redis.url, 1)
                return ServiceHeartbeat.objects.filter(name__startswith="worker:test-", last_seen_at__gt=mark).exists()

            wait_until(consumed_again, 45, interval=0.5,
                       message=f"the worker to consume again after restart {restart + 1}")
            assert worker.alive(), worker.output()[-3000:]
        assert "Unrecoverable error" not in worker.output()
    finally:
        stop.set()
        if producer.is_alive():
            producer.join(5)
        redis.kill()
