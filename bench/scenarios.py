"""The scenarios of issue 8, each a function of a running `Bench`, and the command-line wrapper the per-scenario
modules share (`python -m bench.throughput`, `bench.latency`, …; `bench.run_all` runs them in one session)."""

import argparse
from collections.abc import Callable
from pathlib import Path

from bench.infra import DEFAULT_EVENT
from bench.pipeline import Bench, Endpoint, Run

SLOW_DELAY_SECONDS = 5.0


def throughput(bench: Bench, events: int, *, bridges: int = 1, workers: int = 1, name: str = "throughput",
               **options) -> dict:
    """Sustained deliveries/s: `events` published as fast as possible to one endpoint."""
    return bench.run(Run(name=name, events=events, bridges=bridges, workers=workers, **options))


# A partner's everyday SMS template (the fairness scenario's slow one is the other extreme).
CUSTOMER_SMS_TEMPLATE = "{{ currency }} {{ amount }} spent at {{ merchantName }}."


def customer_facing(bench: Bench, events: int, name: str = "customer_facing", **options) -> dict:
    """Issue 20: customer-facing events as fast as possible, for cardholders who exist: each event's webhook, and its
    four messages planned and the SMS rendered and sent through the console provider (the product has an SMS
    template only, and the cardholders a phone number only: email, push and inbox are planned as skipped), in a
    messages worker of its own as the Procfile runs it. The window ends when the last message is finished."""
    options["message_workers"] = options.get("message_workers") or 1
    endpoint = Endpoint("bench-a", event_name="TRANSACTION_NOTIFICATION", sms_template=CUSTOMER_SMS_TEMPLATE)
    env = {"CUSTOMER_QUIET_HOURS": "", "SMS_PROVIDER": "console", **options.pop("env", {})}
    return bench.run(Run(name=name, events=events, endpoints=[endpoint], env=env, await_messages=True, **options))


def defaults(bench: Bench, events: int, **options) -> dict:
    """Issue 20: the processes exactly as `make run` starts them (the Procfile's lines, the settings' defaults),
    between two runs of the bench's tuned processes with the same events."""
    return {
        "defaults_tuned": throughput(bench, events, name="defaults_tuned", **options),
        "defaults": bench.run(Run(name="defaults", events=events, procfile=True, **options)),
        "defaults_tuned2": throughput(bench, events, name="defaults_tuned2", **options),
    }


def latency(bench: Bench, rate: float, seconds: float, name: str = "latency", **options) -> dict:
    """Kafka timestamp → receiver arrival at a steady `rate` events/s."""
    return bench.run(Run(name=name, events=int(rate * seconds), rate=rate, **options))


def naive(bench: Bench, events: int, **options) -> dict:
    """The baseline: one Celery task per delivery, blocking requests.post, ORM reads and writes per attempt."""
    return bench.run(Run(name="naive", events=events, naive=True, warmup=100, **options))


def raw_send(bench: Bench, events: int, processes: int = 1, **options) -> dict:
    from bench import raw_send as module

    return module.run(bench, events, processes, **options)


# Alone runs around every mixed (and the control) run: identical runs of this length on the shared development
# machine differ by up to 20 %, and the machine drifts over minutes, so each mixed run is compared with the alone
# runs just before and after it (bench/report.py::isolation).
SLOW_ENDPOINT_PLAN = ("alone", "mixed", "alone", "control", "alone", "mixed", "alone", "mixed", "alone")


def slow_endpoint(bench: Bench, events: int, slow_events: int, **options) -> dict:
    """The healthy endpoint's throughput alone, and with a second endpoint answering in 5 s receiving `slow_events`
    published interleaved with the healthy ones (`slow_mixed*`), and with a second fast endpoint instead
    (`slow_control`), in the order of SLOW_ENDPOINT_PLAN."""
    weight = max(1, round(events / max(slow_events, 1)))
    endpoints = {
        "alone": None,
        "mixed": [Endpoint("bench-a", weight=weight), Endpoint("bench-slow", delay=SLOW_DELAY_SECONDS,
                                                                   measured=False)],
        # The same mix with a fast second endpoint. The slow endpoint's events must be ingested like any other,
        # which on a CPU-bound machine costs the healthy endpoint by itself; this separates that from slowness.
        "control": [Endpoint("bench-a", weight=weight), Endpoint("bench-b", measured=False)],
    }
    results = {}
    seen: dict[str, int] = {}
    for kind in SLOW_ENDPOINT_PLAN:
        seen[kind] = seen.get(kind, 0) + 1
        name = f"slow_{kind}{seen[kind] if seen[kind] > 1 else ''}"
        mix = endpoints[kind]
        extra = {"endpoints": mix, "events": events + events // weight} if mix else {"events": events}
        results[name] = bench.run(Run(name=name, **extra, **options))
    return results


# A partner's template that is slow but within the rendering limits: a loop over a few thousand items per message.
SLOW_SMS_TEMPLATE = ("{% for i in range(4000) %}{% if i == 3999 %}{{ currency }} {{ amount }} at {{ merchantName }}"
                     "{% endif %}{% endfor %}")
FAIRNESS_PLAN = ("alone", "mixed", "alone", "mixed", "alone")


def fairness(bench: Bench, rate: float, seconds: float, flood: int = 10, **options) -> dict:
    """Partner B's webhooks at `rate` events/s, alone and beside partner A publishing `flood` times B's volume of
    customer-facing events whose SMS template is slow; B's arrival latency is what is measured (FAIRNESS_PLAN:
    every mixed run between two alone runs, like the slow-endpoint scenario)."""
    results = {}
    seen: dict[str, int] = {}
    env = {"CUSTOMER_QUIET_HOURS": "", "SMS_PROVIDER": "console", **options.pop("env", {})}
    # As the Procfile runs them: customer messages (partner templates: CPU) in a worker process of their own.
    options["message_workers"] = options.get("message_workers") or 1
    for kind in FAIRNESS_PLAN:
        seen[kind] = seen.get(kind, 0) + 1
        name = f"fair_{kind}{seen[kind] if seen[kind] > 1 else ''}"
        b = Endpoint("bench-b")
        if kind == "alone":
            spec = Run(name=name, events=int(rate * seconds), rate=rate, endpoints=[b], env=env, **options)
        else:
            a = Endpoint("bench-flood", weight=flood, measured=False, event_name="TRANSACTION_NOTIFICATION",
                         sms_template=SLOW_SMS_TEMPLATE)
            spec = Run(name=name, events=int(rate * seconds) * (flood + 1), rate=rate * (flood + 1),
                       endpoints=[b, a], env=env, **options)
        results[name] = bench.run(spec)
    return results


# A receiver of its own for the rate-limited endpoint (the Python one: receivers are kept per delay), so its log holds
# that endpoint's arrivals alone.
RATE_LIMITED_DELAY_SECONDS = 0.001


def rate_limited(bench: Bench, events: int, limited_events: int, limit: int, **options) -> dict:
    """One endpoint with `rateLimitPerSecond: limit` receiving `limited_events` beside an unlimited endpoint
    receiving `events`, interleaved: the limited one's busiest second (arrivals at its receiver, any one-second
    span) must stay within the limit, and the unlimited one's throughput is measured as usual."""
    weight = max(1, round(events / max(limited_events, 1)))
    mix = [Endpoint("bench-a", weight=weight),
           Endpoint("bench-limited", delay=RATE_LIMITED_DELAY_SECONDS, rate_limit=limit)]
    receiver = bench.receiver(RATE_LIMITED_DELAY_SECONDS)
    mark = receiver.mark()
    result = bench.run(Run(name="rate_limited", endpoints=mix, events=events + events // weight, **options))
    times = sorted(receiver.arrivals(mark).values())
    busiest, start = 0, 0
    for end, arrived in enumerate(times):
        while arrived - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    result["rate_limit"] = {"limit": limit, "arrivals": len(times), "busiest_second": busiest,
                            "rate": round((len(times) - 1) / span, 1) if span else None}
    return {"rate_limited": result}


def scaling(bench: Bench, events: int, **options) -> dict:
    """1 vs 2 bridges and 1 vs 2 worker processes (same events, same topic partition count)."""
    results = {}
    for bridges, workers in ((1, 1), (2, 1), (1, 2), (2, 2)):
        key = f"scale_{bridges}b{workers}w"
        results[key] = bench.run(Run(name=key, events=events, bridges=bridges, workers=workers, **options))
    return results


# Each issuer/p2c run sits between two standard runs and is compared with them (bench/report.py::format_costs):
# identical runs on the shared machine differ by up to 20 % minutes apart, more than the 10 % being measured.
FORMATS_PLAN = ("standard", "issuer", "standard", "p2c", "standard")


def formats(bench: Bench, events: int, **options) -> dict:
    """The throughput run with the endpoint's subscription in each payloadFormat (issue 16), in the order of
    FORMATS_PLAN: `format_standard`, `format_issuer`, `format_standard2`, `format_p2c`, `format_standard3`."""
    results = {}
    seen: dict[str, int] = {}
    for payload_format in FORMATS_PLAN:
        seen[payload_format] = seen.get(payload_format, 0) + 1
        name = f"format_{payload_format}{seen[payload_format] if seen[payload_format] > 1 else ''}"
        endpoint = Endpoint("bench-a", payload_format=payload_format)
        results[name] = bench.run(Run(name=name, events=events, endpoints=[endpoint], **options))
    return results


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker (-c)")
    parser.add_argument("--pool", default="threads", help="Celery pool (-P)")
    parser.add_argument("--bridge-batch", type=int, default=500, help="bridge --batch-size")
    parser.add_argument("--partitions", type=int, default=4, help="topic partitions")
    parser.add_argument("--event-name", default=DEFAULT_EVENT, help="eventName of the published events")
    parser.add_argument("--message-workers", type=int, default=0,
                        help="workers of their own for the messages queue, as the Procfile runs (0: the webhook "
                             "workers take it too)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy record every bridge and worker into DIR")
    parser.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                        help="extra environment for the processes under test (repeatable)")


def run_options(args: argparse.Namespace) -> dict:
    return {
        "concurrency": args.concurrency, "pool": args.pool, "bridge_batch": args.bridge_batch,
        "partitions": args.partitions, "profile_dir": args.profile, "event_name": args.event_name,
        "message_workers": args.message_workers,
        "env": dict(item.split("=", 1) for item in args.set),
    }


def command(description: str, add_arguments: Callable[[argparse.ArgumentParser], None],
            execute: Callable[[Bench, argparse.Namespace], dict], name: str) -> None:
    """The main() of a scenario module: parse, run in a fresh Bench, print the table, save the JSON."""
    from bench.report import print_all, save

    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser)
    common_arguments(parser)
    args = parser.parse_args()
    with Bench() as bench:
        results = execute(bench, args)
    save(results, name)
    print_all(results)
