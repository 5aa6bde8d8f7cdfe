"""Customer-facing events for cardholders who exist (issue 20): webhooks delivered and messages sent, the window
ending with the last message.

    python -m bench.customer_facing [--events 20000]
"""

from bench import scenarios


def add_arguments(parser) -> None:
    parser.add_argument("--events", type=int, default=20_000)


def execute(bench, args) -> dict:
    options = scenarios.run_options(args)
    options.pop("event_name")
    return {"customer_facing": scenarios.customer_facing(bench, args.events, **options)}


if __name__ == "__main__":
    scenarios.command(__doc__, add_arguments, execute, "customer_facing")
