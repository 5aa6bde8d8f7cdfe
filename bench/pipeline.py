"""One end-to-end run: Kafka topic → bridge(s) → PostgreSQL → Redis → Celery worker(s) → receiver, measured.

A run starts its bridges and workers against a fresh topic and emptied tables, warms them up (connections, pools),
publishes the measured events, waits until every measured delivery is SUCCEEDED in PostgreSQL, and reads:

- throughput: measured deliveries / (last `completed_at` - first Kafka timestamp);
- latency: receiver arrival time (nginx `$msec`, joined on the webhook-id header = eventId) - Kafka timestamp,
  and the same up to the outcome being recorded (`completed_at`);
- CPU seconds and peak RSS of every process, sampled from /proc;
- invariants: every measured delivery SUCCEEDED in exactly one attempt, and reached the receiver exactly once.
"""

import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    PYTHON,
    WORKDIR,
    Process,
    ResourceMonitor,
    Watched,
    pids_matching,
    process_env,
    procfile_commands,
    setup_django,
    wait_until,
)
from bench.infra import (
    DEFAULT_EVENT,
    Receiver,
    Tansu,
    close_producers,
    create_customers,
    create_endpoint,
    ensure_database,
    make_messages,
    publish,
    reset_database,
)
from bench.infra import start_receiver as _start_receiver

WARMUP_PREFIX = "warm-"
# The messages worker runs partners' templates: below the webhook worker's CPU priority, as the Procfile starts it.
MESSAGES_NICE = 10


@dataclass
class Endpoint:
    tenant: str
    delay: float = 0.0  # seconds the receiver waits before answering; 0 = the fast (nginx) receiver
    measured: bool = True  # whether its deliveries define completion and throughput
    weight: int = 1  # events per round of the round-robin over endpoints
    event_name: str | None = None  # its events' eventName (None: the run's)
    sms_template: str | None = None  # with one: cardholders and cards for its events, and this product SMS template
    rate_limit: int | None = None  # the subscription's rateLimitPerSecond (None: no limit)
    payload_format: str = "standard"  # the subscription's body format (issue 16)


@dataclass
class Run:
    name: str
    events: int
    rate: float | None = None  # events per second; None = publish as fast as possible
    bridges: int = 1
    workers: int = 1
    # Worker processes for the `messages` queue alone (as the Procfile runs them); 0: the webhook workers take it too.
    message_workers: int = 0
    concurrency: int = 8
    pool: str = "threads"
    partitions: int = 4
    bridge_batch: int = 500
    endpoints: list[Endpoint] = field(default_factory=lambda: [Endpoint("bench-a")])
    naive: bool = False
    event_name: str = DEFAULT_EVENT
    warmup: int = 300
    timeout: float = 600.0
    profile_dir: Path | None = None  # py-spy record of every bridge and worker during the measured window
    # The measured window (and the processes' CPU) ends only when every customer message of the run is finished;
    # `messages.events_per_second` is then the run's events over the time from publishing to that end.
    await_messages: bool = False
    env: dict[str, str] = field(default_factory=dict)
    # True: the bridge, the workers and beat are started with the Procfile's own command lines, exactly as `make run`
    # starts them (only the database, Redis and topic come from the bench); the other fields' process options are
    # then unused.
    procfile: bool = False


class Bench:
    """Shared for a session: database, broker, receivers. Use as a context manager."""

    def __init__(self, prepare: bool = True) -> None:
        self.prepare = prepare  # False: Django and the database are already set up (the harness's own test)
        self.tansu: Tansu | None = None
        self.receivers: dict[float, Receiver] = {}
        self.redis = None

    def __enter__(self) -> "Bench":
        WORKDIR.mkdir(parents=True, exist_ok=True)
        if self.prepare:
            ensure_database()
            setup_django()
        import redis

        self.redis = redis.from_url(process_env()["REDIS_URL"])
        self.tansu = Tansu()
        return self

    def __exit__(self, *exc) -> None:
        for receiver in self.receivers.values():
            receiver.stop()
        close_producers()
        if self.tansu:
            self.tansu.stop()

    def receiver(self, delay: float) -> Receiver:
        if delay not in self.receivers:
            name = "receiver-fast" if delay == 0 else f"receiver-slow-{delay:g}s"
            self.receivers[delay] = _start_receiver(name, delay)
        return self.receivers[delay]

    # ------------------------------------------------------------------------------------------------------ a run

    def run(self, spec: Run) -> dict:
        print(f"\n== {spec.name}: {spec.events} events"
              f"{f' at {spec.rate:g}/s' if spec.rate else ' as fast as possible'}, {spec.bridges} bridge(s), "
              f"{spec.workers} worker(s) ({spec.pool} x{spec.concurrency}){' [naive]' if spec.naive else ''}",
              flush=True)
        reset_database()
        self.redis.flushdb()  # our own Redis database only
        topic = self.tansu.create_topic(spec.partitions)
        for endpoint in spec.endpoints:
            create_endpoint(endpoint.tenant, self.receiver(endpoint.delay).url(f"hooks/{endpoint.tenant}"),
                            rate_limit=endpoint.rate_limit, payload_format=endpoint.payload_format)
            if endpoint.sms_template is not None:
                create_customers(endpoint.tenant, event_name=endpoint.event_name or spec.event_name,
                                 sms_template=endpoint.sms_template)
        event_names = {e.tenant: e.event_name for e in spec.endpoints if e.event_name}
        env = process_env(KAFKA_BOOTSTRAP_SERVERS=self.tansu.bootstrap, KAFKA_NOTIFICATION_TOPIC=topic, **spec.env)
        tag = uuid.uuid4().hex[:6]
        group = f"bench-{tag}"
        if spec.procfile:
            workers, bridges, others = self._start_procfile(spec, env, group)
        else:
            workers, bridges, others = self._start_tuned(spec, env, topic, group, tag), [], []
            bridges = [
                Process(f"{spec.name}-bridge{i + 1}",
                        [PYTHON, *(["-m", "bench.naive_bridge"] if spec.naive else ["manage.py", "kafka_bridge"]),
                         "--topic", topic, "--group", group, "--batch-size", str(spec.bridge_batch),
                         "--name", f"bench-{i + 1}"], env=env)
                for i in range(spec.bridges)
            ]
        processes = workers + bridges + others
        profilers: list[subprocess.Popen] = []
        try:
            for worker in workers:
                wait_until(lambda w=worker: " ready." in w.output() or not w.alive(), 60, f"{worker.name} ready")
            self._check_alive(processes)
            tenants = [e.tenant for e in spec.endpoints for _ in range(e.weight)]
            fast_tenants = [e.tenant for e in spec.endpoints if e.delay == 0]
            # Warm-up: connections, pools and the consumer group's assignment settle before the clock starts.
            warm = make_messages(fast_tenants, spec.warmup, prefix=WARMUP_PREFIX, event_name=spec.event_name)
            publish(self.tansu.bootstrap, topic, warm)
            wait_until(lambda: self._succeeded(fast_tenants) >= len(warm) or not all(
                p.alive() for p in processes), 120, "warm-up deliveries")
            self._check_alive(processes)
            if spec.bridges > 1:
                # Every bridge must own partitions before we measure (a rebalance mid-run would skew the result).
                wait_until(lambda: all(_owns_partitions(b) for b in bridges), 60, "every bridge to get partitions")
            messages = make_messages(tenants, spec.events, event_name=spec.event_name, event_names=event_names)
            measured_tenants = [e.tenant for e in spec.endpoints if e.measured]
            warm_done = self._succeeded(measured_tenants)  # the warm-up's, counted out below
            expected = sum(1 for i in range(spec.events) if tenants[i % len(tenants)] in measured_tenants)
            receivers_marks = {r: r.mark() for r in self.receivers.values()}
            _checkpoint()
            monitor = ResourceMonitor(self._watched(bridges, workers))
            wal_start = _wal_position()
            messages_before = _last_message_id()
            monitor.start()
            profilers = [self._profile(spec.profile_dir, p) for p in processes] if spec.profile_dir else []
            published_at = time.monotonic()
            publish_stats = publish(self.tansu.bootstrap, topic, messages, spec.rate)
            deadline = time.monotonic() + spec.timeout
            done = 0
            while time.monotonic() < deadline:
                done = self._succeeded(measured_tenants) - warm_done
                if done >= expected:
                    break
                self._check_alive(processes)
                time.sleep(1.0)
            customer_messages = _messages_since(messages_before)
            if spec.await_messages:
                # The window ends when every message of the run is planned and finished too.
                while time.monotonic() < deadline and (customer_messages["waiting"]
                                                       or customer_messages["events_not_planned_yet"]):
                    self._check_alive(processes)
                    time.sleep(0.2)
                    customer_messages = _messages_since(messages_before)
                seconds = time.monotonic() - published_at
                customer_messages.update(seconds_to_finish=round(seconds, 2),
                                         events_per_second=round(spec.events / seconds, 1))
            monitor.stop()
            wal_bytes = _wal_bytes_since(wal_start)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
            for profiler in profilers:
                try:
                    profiler.wait(60)
                except subprocess.TimeoutExpired:
                    profiler.kill()
            result = self._measure(spec, measured_tenants, receivers_marks)
            resources = monitor.report()
            # CPU per delivery is what contention on a shared machine distorts least: it is what we optimise.
            delivered = sum(t.get("succeeded", 0) for t in result["tenants"].values())
            for role in resources["processes"].values():
                role["cpu_us_per_delivery"] = round(1e6 * role["cpu_seconds"] / delivered) if delivered else None
            # Cluster-wide WAL: on a shared machine other databases' writes count too (an upper bound).
            resources["postgres_wal"] = {"bytes": wal_bytes,
                                         "per_delivery": round(wal_bytes / delivered) if delivered else None}
            main = result["main"]
            print(f"   {done}/{expected} delivered: {main.get('throughput') or 0:,.0f}/s, p99 arrival "
                  f"{(main.get('latency_arrival_ms') or {}).get('p99', '-')} ms", flush=True)
            result.update(
                name=spec.name, events=spec.events, expected=expected, completed=done,
                timed_out=done < expected, publish=publish_stats, resources=resources, messages=customer_messages,
                config={"bridges": spec.bridges, "workers": spec.workers, "pool": spec.pool,
                        "concurrency": spec.concurrency, "partitions": spec.partitions,
                        "bridge_batch": spec.bridge_batch, "rate": spec.rate, "naive": spec.naive,
                        "event_name": spec.event_name, **spec.env},
            )
            return result
        finally:
            for process in processes:
                process.stop(timeout=10)

    def _start_tuned(self, spec: Run, env: dict[str, str], topic: str, group: str, tag: str) -> list[Process]:
        queues = "default,webhooks" if spec.message_workers else "default,webhooks,messages"
        workers = [self._start_worker(spec, env, f"{spec.name}-worker{i + 1}", tag, queues)
                   for i in range(spec.workers)]
        workers += [
            self._start_worker(spec, env, f"{spec.name}-messages{i + 1}", tag, "messages", nice=MESSAGES_NICE)
            for i in range(spec.message_workers)
        ]
        return workers

    @staticmethod
    def _start_procfile(spec: Run, env: dict[str, str], group: str) -> tuple[list[Process], list[Process],
                                                                             list[Process]]:
        """The Procfile's worker, messages, bridge and beat lines, each through a shell as honcho runs them."""
        commands = procfile_commands()
        env = {**env, "KAFKA_CONSUMER_GROUP": group,
               "CELERY_BEAT_SCHEDULE_FILE": str(WORKDIR / f"{spec.name}-celerybeat-schedule")}
        workers = [Process(f"{spec.name}-{kind}1", ["sh", "-c", commands[kind]], env=env)
                   for kind in ("worker", "messages")]
        bridges = [Process(f"{spec.name}-bridge1", ["sh", "-c", commands["bridge"]], env=env)]
        return workers, bridges, [Process(f"{spec.name}-beat", ["sh", "-c", commands["beat"]], env=env)]

    def _start_worker(self, spec: Run, env: dict[str, str], name: str, tag: str, queues: str,
                      nice: int = 0) -> Process:
        app = "bench.naive_app" if spec.naive else "config.celery_app"
        return Process(name, [
            *(["nice", "-n", str(nice)] if nice else []),
            PYTHON, "-m", "celery", "-A", app, "worker", "-Q", queues, "-P", spec.pool,
            "-c", str(spec.concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "INFO", "-n", f"{name}-{tag}@%h",
        ], env=env)

    @staticmethod
    def _check_alive(processes: list[Process]) -> None:
        for p in processes:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited:\n{p.output()[-3000:]}")

    def _watched(self, bridges: list[Process], workers: list[Process]) -> list[Watched]:
        import os

        db_name = process_env()["DATABASE_URL"].rsplit("/", 1)[1]
        watched = [Watched(label=b.name.split("-", 1)[1], root_pid=b.pid) for b in bridges]
        watched += [Watched(label=w.name.split("-", 1)[1], root_pid=w.pid) for w in workers]
        watched.append(Watched(label="postgres (bench backends)",
                               pid_finder=lambda: pids_matching(f" {db_name} ")))
        watched.append(Watched(label="tansu", root_pid=self.tansu.process.pid))
        for receiver in self.receivers.values():
            watched.append(Watched(label=receiver.process.name, root_pid=receiver.process.pid))
        watched.append(Watched(label="redis (shared)", pid_finder=lambda: pids_matching("redis-server")))
        # The harness alone (its children are the processes above).
        watched.append(Watched(label="publisher (harness)", pid_finder=lambda: [os.getpid()]))
        return watched

    @staticmethod
    def _profile(directory: Path, process: Process) -> subprocess.Popen:
        directory.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            [str(Path(PYTHON).parent / "py-spy"), "record", "--pid", str(process.pid), "--rate", "200",
             "--format", "raw", "--nonblocking",
             # "cpu" (default): only the thread holding the GIL, i.e. Python CPU; "wall": every thread, idle too.
             *(["--idle", "--threads"] if os.environ.get("BENCH_PROFILE_MODE") == "wall" else ["--gil"]),
             "-o", str(directory / f"{process.name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    @staticmethod
    def _succeeded(tenants: list[str]) -> int:
        """Succeeded deliveries of these tenants: polled every second during a run, so it must stay cheap on a
        large table (the (partner, status) index; a join with events here cost PostgreSQL as much as the pipeline)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM notifications_webhookdelivery WHERE status = 'SUCCEEDED' AND partner_id IN "
                "(SELECT id FROM subscriptions_partner WHERE tenant_id = ANY(%s))",
                [tenants],
            )
            return cursor.fetchone()[0]

    def _measure(self, spec: Run, measured_tenants: list[str], marks: dict[Receiver, int]) -> dict:
        from django.db import connection

        arrivals: dict[str, float] = {}
        duplicates = 0
        for receiver, mark in marks.items():
            seen = receiver.arrivals(mark)
            arrivals.update(seen)
            duplicates += _duplicate_arrivals(receiver, mark)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT p.tenant_id, e.event_id, extract(epoch FROM e.source_timestamp),
                       extract(epoch FROM e.received_at), extract(epoch FROM d.completed_at), d.status,
                       d.attempt_count
                  FROM notifications_webhookdelivery d
                  JOIN notifications_event e ON e.id = d.event_id
                  JOIN subscriptions_partner p ON p.id = d.partner_id
                 WHERE e.event_id NOT LIKE %s
                """,
                [f"{WARMUP_PREFIX}%"],
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT count(*) FROM notifications_deliveryattempt a "
                "JOIN notifications_webhookdelivery d ON d.id = a.delivery_id "
                "JOIN notifications_event e ON e.id = d.event_id WHERE e.event_id NOT LIKE %s",
                [f"{WARMUP_PREFIX}%"],
            )
            attempts = cursor.fetchone()[0]
        per_tenant: dict[str, dict] = {}
        for tenant in {r[0] for r in rows}:
            mine = [r for r in rows if r[0] == tenant]
            done = [r for r in mine if r[5] == "SUCCEEDED"]
            kafka = [float(r[2]) for r in mine]
            completed = sorted(float(r[4]) for r in done)
            entry: dict = {"deliveries": len(mine), "succeeded": len(done),
                           "multi_attempt": sum(1 for r in done if r[6] != 1)}
            if done:
                window = completed[-1] - min(kafka)
                entry["throughput"] = round(len(done) / window, 1) if window > 0 else None
                entry["window_s"] = round(window, 2)
                # The middle 80 % of completions: the steady rate without ramp-up and tail.
                lo, hi = completed[len(completed) // 10], completed[(len(completed) * 9) // 10]
                entry["steady_throughput"] = round(0.8 * len(completed) / (hi - lo), 1) if hi > lo else None
                entry["ingest_lag_ms"] = _percentiles([1000 * (float(r[3]) - float(r[2])) for r in mine])
                entry["latency_arrival_ms"] = _percentiles(
                    [1000 * (arrivals[r[1]] - float(r[2])) for r in done if r[1] in arrivals])
                entry["latency_recorded_ms"] = _percentiles([1000 * (float(r[4]) - float(r[2])) for r in done])
                entry["arrivals_seen"] = sum(1 for r in done if r[1] in arrivals)
            per_tenant[tenant] = entry
        main = per_tenant.get(measured_tenants[0], {}) if measured_tenants else {}
        return {"tenants": per_tenant, "main": main, "attempts_recorded": attempts,
                "duplicate_arrivals": duplicates}


def _checkpoint() -> None:
    """Every measured window starts right after a PostgreSQL checkpoint. After a checkpoint the first change to each
    page writes the whole page to the WAL; without this, a run's database cost depended on where it fell in the
    5-minute checkpoint cycle (the same run measured 182 and 312 µs of PostgreSQL CPU per delivery)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _owns_partitions(bridge: Process) -> bool:
    """The bridge's latest assignment (its log line) is not empty."""
    assignments = re.findall(r"Assigned partitions: \[([^\]]*)\]", bridge.output())
    return bool(assignments and assignments[-1].strip())


def _last_message_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM notifications_customermessage")
        return cursor.fetchone()[0]


def _messages_since(last_id: int) -> dict[str, int]:
    """The customer messages planned during the window, at its end: finished (sent, failed, skipped …) and still
    waiting (pending, held or being sent), and the events whose messages are not planned yet. Whether the messages
    worker keeps up with the webhooks is in these."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE status IN ('PENDING', 'HELD', 'SENDING')), count(*) "
                       "FROM notifications_customermessage WHERE id > %s", [last_id])
        waiting, planned = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM notifications_unplannedevent")
        unplanned_events = cursor.fetchone()[0]
    return {"planned": planned, "finished": planned - waiting, "waiting": waiting,
            "events_not_planned_yet": unplanned_events}


def _wal_position() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _wal_bytes_since(position: str) -> int:
    """PostgreSQL's write-ahead log written since `position` (what replication and the disk must carry)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::bigint", [position])
        return cursor.fetchone()[0]


def _duplicate_arrivals(receiver: Receiver, mark: int) -> int:
    """Event ids that reached a receiver more than once after `mark` (must be 0: nothing is sent twice)."""
    counts: dict[bytes, int] = {}
    if not receiver.log_path.exists():
        return 0
    with receiver.log_path.open("rb") as f:
        f.seek(mark)
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                counts[parts[1]] = counts.get(parts[1], 0) + 1
    return sum(1 for c in counts.values() if c > 1)


def _percentiles(values: list[float]) -> dict | None:
    if not values:
        return None
    values = sorted(values)

    def pick(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    return {"n": len(values), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": round(values[-1], 1)}
