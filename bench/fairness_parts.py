"""Which part of partner A's flood costs partner B's latency (the fairness scenario taken apart): B alone, then beside
A's 10x flood of webhook-only events, of customer-facing events with a one-line SMS template, and with the
fairness scenario's slow template, then B alone again.

    python -m bench.fairness_parts [--rate 50] [--seconds 10]
"""

from bench import scenarios
from bench.pipeline import Endpoint, Run

FLOODS = {
    "webhook_only": {},
    "fast_template": {"event_name": "TRANSACTION_NOTIFICATION", "sms_template": scenarios.CUSTOMER_SMS_TEMPLATE},
    "slow_template": {"event_name": "TRANSACTION_NOTIFICATION", "sms_template": scenarios.SLOW_SMS_TEMPLATE},
}


def add_arguments(parser) -> None:
    parser.add_argument("--rate", type=float, default=50.0, help="partner B's events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--flood", type=int, default=10, help="partner A's volume as a multiple of B's")


def execute(bench, args) -> dict:
    options = scenarios.run_options(args)
    options["message_workers"] = options.get("message_workers") or 1
    env = {"CUSTOMER_QUIET_HOURS": "", "SMS_PROVIDER": "console", **options.pop("env")}
    b_events = int(args.rate * args.seconds)
    results = {"parts_alone": bench.run(Run(name="parts_alone", events=b_events, rate=args.rate,
                                            endpoints=[Endpoint("bench-b")], env=env, **options))}
    for kind, extra in FLOODS.items():
        a = Endpoint("bench-flood", weight=args.flood, measured=False, **extra)
        results[f"parts_{kind}"] = bench.run(Run(
            name=f"parts_{kind}", events=b_events * (args.flood + 1), rate=args.rate * (args.flood + 1),
            endpoints=[Endpoint("bench-b"), a], env=env, **options))
    results["parts_alone2"] = bench.run(Run(name="parts_alone2", events=b_events, rate=args.rate,
                                            endpoints=[Endpoint("bench-b")], env=env, **options))
    return results


if __name__ == "__main__":
    scenarios.command(__doc__, add_arguments, execute, "fairness_parts")
