"""Fairness between partners: partner B's webhook latency alone and beside partner A flooding ten times B's volume
of customer-facing events with a slow template.

    python -m bench.fairness [--rate 50] [--seconds 15]
"""

from bench import scenarios


def add_arguments(parser) -> None:
    parser.add_argument("--rate", type=float, default=50.0, help="partner B's events per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--flood", type=int, default=10, help="partner A's volume as a multiple of B's")


def execute(bench, args) -> dict:
    return scenarios.fairness(bench, args.rate, args.seconds, args.flood, **scenarios.run_options(args))


if __name__ == "__main__":
    scenarios.command(__doc__, add_arguments, execute, "fairness")
