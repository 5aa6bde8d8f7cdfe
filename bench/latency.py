"""Latency at a steady rate: Kafka message timestamp → arrival at the receiver (and → outcome recorded).

    python -m bench.latency [--rate 1000] [--seconds 30]
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--rate", type=float, default=1000.0, help="events per second")
        parser.add_argument("--seconds", type=float, default=30.0)

    def execute(bench, args):
        return {"latency": scenarios.latency(bench, args.rate, args.seconds, **scenarios.run_options(args))}

    scenarios.command(__doc__, arguments, execute, "latency")


if __name__ == "__main__":
    main()
