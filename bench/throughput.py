"""Sustained throughput: 100,000 events (default) to one endpoint, published as fast as possible.

    python -m bench.throughput [--events 100000] [--bridges 1] [--workers 1] [--profile DIR]
"""

from bench import scenarios


def main() -> None:
    def arguments(parser):
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--bridges", type=int, default=1)
        parser.add_argument("--workers", type=int, default=1)

    def execute(bench, args):
        return {"throughput": scenarios.throughput(bench, args.events, bridges=args.bridges, workers=args.workers,
                                                   **scenarios.run_options(args))}

    scenarios.command(__doc__, arguments, execute, "throughput")


if __name__ == "__main__":
    main()
