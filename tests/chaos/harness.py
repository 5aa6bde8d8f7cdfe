"""What the chaos suite runs and breaks: its own Redis server and its own PostgreSQL cluster (the shared ones on this
machine serve other people's tests, so they are never restarted) and a publisher that puts events on the topic while
the faults happen. The partner's endpoint is tests.fixtures.receiver.WebhookReceiver, told to fail by the test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from tests.fixtures.processes import free_port, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class OwnRedis:
    """A private redis-server (no persistence, like the shared one): a restart loses every queued task."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="chaos-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory, "--logfile", f"{self.directory}/redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(self.port), 10, message="own redis-server")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


class OwnPostgres:
    """A throw-away PostgreSQL 15 cluster in a temp dir, run as the postgres user on a free port, with the schema of
    the test database copied in. fsync is off (a crash of the server process, which is what the suite causes, loses
    nothing the OS already has); synchronous_commit stays on, as in production."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.directory / "data"
        shutil.chown(self.directory, "postgres", "postgres")
        self.database = "chaos"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=timeout)

    def init(self, schema_from: dict) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                       f"'{self.directory}'\nfsync = off\nfull_page_writes = off\nmax_connections = 100\n")
        self.start()
        subprocess.run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        self.database], check=True, capture_output=True)
        dump = subprocess.run(
            [PG_BIN / "pg_dump", "--schema-only", "--no-owner", "-h", schema_from["HOST"], "-p",
             str(schema_from["PORT"] or 5432), "-U", schema_from["USER"], schema_from["NAME"]],
            check=True, capture_output=True,
        ).stdout
        subprocess.run([PG_BIN / "psql", "-q", "-v", "ON_ERROR_STOP=1", self.url], input=dump, check=True,
                       capture_output=True)

    def start(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "pg.log"),
                          "-w", "start")

    def restart(self) -> None:
        """Crash-restart: immediate shutdown (no checkpoint, like a killed server), then WAL recovery."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "restart",
                          "-l", str(self.directory / "pg.log"))

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """One query on a fresh connection (the server may have been restarted since the last one)."""
        with psycopg.connect(self.url, connect_timeout=3) as conn:
            return conn.execute(sql, params).fetchall()


class Publisher(threading.Thread):
    """Publishes `count` TRANSACTION_NOTIFICATION events for `tenant` at about `rate` per second, keyed by one of
    `entities` card ids; `event_ids` holds every id Kafka acknowledged."""

    def __init__(self, bootstrap: str, topic: str, tenant: str, count: int, rate: float, entities: int = 50):
        super().__init__(daemon=True, name="chaos-publisher")
        self.bootstrap, self.topic, self.tenant = bootstrap, topic, tenant
        self.count, self.rate, self.entities = count, rate, entities
        self.event_ids: set[str] = set()
        self.failed: list[str] = []
        self.finished = threading.Event()

    def run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 20, "message.timeout.ms": 600000,
                             "enable.idempotence": False})

        def on_delivery(err, msg):
            if err is None:
                self.event_ids.add(json.loads(msg.value())["eventId"])
            else:
                self.failed.append(str(err))

        started = time.monotonic()
        for n in range(self.count):
            entity = f"card-{n % self.entities}"
            message = {
                "eventId": str(uuid.uuid4()),
                "eventName": "TRANSACTION_NOTIFICATION",
                "tenantId": self.tenant,
                "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "entityId": entity,
                "data": {"kitNo": f"K{n % self.entities:07d}", "amount": f"{n % 900 + 1}.00", "currency": "INR"},
            }
            while True:
                try:
                    producer.produce(self.topic, key=entity.encode(), value=json.dumps(message).encode(),
                                     on_delivery=on_delivery)
                    break
                except BufferError:  # the broker is paused and the local queue is full: wait for it
                    producer.poll(0.5)
            producer.poll(0)
            # Pace to the target rate.
            ahead = (n + 1) / self.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        while len(producer) > 0:
            producer.flush(5)
        self.finished.set()


def process_logs_contain(processes, needles: list[str]) -> list[str]:
    """Names of the processes whose output contains any of `needles`."""
    return [p.name for p in processes if any(n in p.output() for n in needles)]


def env_for_chaos(redis: OwnRedis, postgres: OwnPostgres) -> dict[str, str]:
    """The environment of every chaos process: our own Redis and PostgreSQL, and small timings so that lost work
    comes back within seconds (sweep every 2 s, grace 3 s, lease 8 s, retries at most 4 s apart)."""
    return {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "CACHE_URL": redis.url.replace("/0", "/1"),
        "REQUEUE_INTERVAL_SECONDS": "2",
        "REQUEUE_GRACE_SECONDS": "3",
        "DELIVERY_LEASE_SECONDS": "8",
        "WEBHOOK_MAX_RETRY_DELAY_SECONDS": "4",
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "2",
        "WEBHOOK_READ_TIMEOUT_SECONDS": "3",
        "OPS_HEARTBEAT_INTERVAL_SECONDS": "5",
        "LOG_LEVEL": os.environ.get("CHAOS_LOG_LEVEL", "INFO"),
    }
