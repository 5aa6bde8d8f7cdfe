"""Issue 20: the processes exactly as `make run` starts them (the Procfile's command lines and the settings'
defaults) against the bench's tuned processes, same events, same run.

    python -m bench.defaults [--events 20000]
"""

from bench import scenarios


def add_arguments(parser) -> None:
    parser.add_argument("--events", type=int, default=20_000)


def execute(bench, args) -> dict:
    return scenarios.defaults(bench, args.events, **scenarios.run_options(args))


if __name__ == "__main__":
    scenarios.command(__doc__, add_arguments, execute, "defaults")
