"""The raw-send ceiling: a bare loop that only signs and POSTs the same bodies to the same receiver with the service's
own HTTP client (notifications.webhooks.sender.WebhookSender: one aiohttp session on a background loop, the same
per-endpoint in-flight bound) and the same concurrency as a worker (8 threads handing it batches of the same size),
in as many processes as the pipeline run has workers. No Kafka, no database, no Celery.

    python -m bench.raw_send [--events 20000] [--processes 1]
"""

import argparse
import json
import resource
import subprocess
import sys
import threading
import time

from bench.common import PYTHON, ResourceMonitor, Watched, process_env


def child(count: int, url: str, threads: int, batch: int) -> None:
    """One sending process; prints its result as one JSON line."""
    import django

    django.setup()
    from bench.infra import make_messages
    from notifications.ingest.parsing import RawMessage, parse_message
    from notifications.queue import delivery_batch_size
    from notifications.webhooks.payloads import webhook_body
    from notifications.webhooks.sender import OutgoingRequest, get_sender
    from notifications.webhooks.signing import webhook_headers
    from subscriptions.models import generate_signing_secret

    batch = batch or delivery_batch_size()
    secrets = [generate_signing_secret()]
    # The same bodies the pipeline sends: the bench events through the service's own envelope code.
    bodies = []
    for _key, value, event_id in make_messages(["bench-a"], count):
        parsed = parse_message(RawMessage(value=value))
        body = webhook_body(event_id=parsed.event_id, event_name=parsed.event_name, event_type="INSTANT",
                            tenant_id=parsed.tenant_id, occurred_at=parsed.occurred_at, data=parsed.data,
                            entity_id=parsed.entity_id, sequence=1)
        bodies.append((event_id, body.encode()))  # as ingest stores them
    sender = get_sender()

    def send(chunk: list[tuple[str, bytes]]) -> int:
        timestamp = int(time.time())
        requests = [OutgoingRequest(subscription_id=1, url=url, body=body,
                                    headers=webhook_headers(secrets, event_id, body, timestamp))
                    for event_id, body in chunk]
        return sum(1 for r in sender.send_many(requests) if r.succeeded)

    send(bodies[:100])  # warm-up: connections
    chunks = [bodies[i : i + batch] for i in range(0, len(bodies), batch)]
    lock = threading.Lock()
    ok = 0

    def worker() -> None:
        nonlocal ok
        while True:
            with lock:
                if not chunks:
                    return
                chunk = chunks.pop()
            sent = send(chunk)
            with lock:
                ok += sent

    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    # This process's CPU over the measured window only (not Django's start-up or the bodies): per request, the
    # figure that the host's speed distorts least (docs/profiles/README.md, issue 20).
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    print(json.dumps({"sent": count, "succeeded": ok, "seconds": elapsed, "cpu_seconds": cpu}), flush=True)


def run(bench, events: int, processes: int = 1, threads: int = 8, batch: int = 0) -> dict:
    """Run `processes` sending children against the bench's fast receiver; aggregate rate = all sent / slowest."""
    print(f"\n== raw-send ceiling: {events} requests, {processes} process(es) x {threads} threads", flush=True)
    url = bench.receiver(0).url("hooks/raw")
    per_child = events // processes
    children = [
        subprocess.Popen([PYTHON, "-m", "bench.raw_send", "--child", "--events", str(per_child), "--url", url,
                          "--threads", str(threads), "--batch", str(batch)],
                         env=process_env(), stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    monitor = ResourceMonitor([Watched(label=f"sender{i + 1}", root_pid=c.pid) for i, c in enumerate(children)]
                              + [Watched(label=bench.receiver(0).process.name,
                                         root_pid=bench.receiver(0).process.pid)])
    monitor.start()
    outputs = [c.communicate(timeout=600)[0] for c in children]
    monitor.stop()
    results = [json.loads(o.strip().splitlines()[-1]) for o in outputs]
    slowest = max(r["seconds"] for r in results)
    succeeded = sum(r["succeeded"] for r in results)
    rate = succeeded / slowest
    cpu_us = sum(r["cpu_seconds"] for r in results) / max(sum(r["sent"] for r in results), 1) * 1e6
    print(f"   {succeeded} sent in {slowest:.2f}s: {rate:.0f}/s, {cpu_us:.0f} us of sender CPU per request", flush=True)
    return {"name": "raw-send", "events": events, "succeeded": succeeded, "seconds": round(slowest, 2),
            "throughput": round(rate, 1), "cpu_us_per_request": round(cpu_us, 1), "resources": monitor.report(),
            "config": {"processes": processes, "threads": threads}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=0, help="requests per send_many call (0: the worker's)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.events, args.url, args.threads, args.batch)
        return
    from bench.pipeline import Bench
    from bench.report import print_all, save

    with Bench() as bench:
        result = run(bench, args.events, args.processes, args.threads, args.batch)
    save({"raw_send": result})
    print_all({"raw_send": result})


if __name__ == "__main__":
    sys.exit(main())
