"""Summarise a py-spy `--format raw` profile (collapsed stacks) written by `--profile DIR`: the functions with the
most samples, inclusive (the function or anything it called) and exclusive (the function itself).

    python -m bench.profile_summary /tmp/notif-bench/prof/throughput-worker1.txt [--top 30] [--filter notifications]
"""

import argparse
import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarise(path: str) -> tuple[int, Counter, Counter]:
    inclusive: Counter = Counter()
    exclusive: Counter = Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [_name(fr) for fr in stack.split(";") if fr]
            total += n
            for name in set(frames):
                inclusive[name] += n
            if frames:
                exclusive[frames[-1]] += n
    return total, inclusive, exclusive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--filter", default="", help="only functions whose name or file contains this")
    args = parser.parse_args()
    total, inclusive, exclusive = summarise(args.profile)
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("exclusive", exclusive)):
        print(f"\n{title}:")
        shown = 0
        for name, n in counter.most_common():
            if args.filter and args.filter not in name:
                continue
            print(f"  {100 * n / total:5.1f}%  {name}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
