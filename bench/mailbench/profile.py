"""Summarise a py-spy ``--format raw`` profile (collapsed stacks, ``frame;frame;... count``):
the functions with the largest inclusive and self shares of the samples.

    python -m mailbench.profile /tmp/prof/big.txt [--top 25] [--match mailfort]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

__all__ = ["summarise", "main"]

_IDLE = re.compile(r"\b(select|poll|epoll_wait|_run_once \(uvloop|wait \(threading|"
                   r"_worker \(concurrent|get \(queue)")


def _frames(stack: str) -> list[str]:
    frames = stack.split(";")
    # py-spy's thread frame (with --threads) comes first; drop it
    return [f for f in frames if not f.startswith("thread (")]


def summarise(path: Path, top: int = 25, match: str = "") -> str:
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        self_[frames[-1]] += count
    if not total:
        return f"{path}: no samples"
    out = [f"{path.name}: {total} samples (all threads, idle waits included)", "",
           "inclusive %  self %  function (file:line)"]
    for frame, count in inclusive.most_common(top * 4):
        if match and match not in frame:
            continue
        out.append(f"{100 * count / total:10.1f}  {100 * self_[frame] / total:6.1f}  {frame}")
        if len(out) >= top + 3:
            break
    out += ["", "top self time:"]
    for frame, count in self_.most_common(top):
        out.append(f"{100 * count / total:6.1f}  {frame}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only functions whose frame contains this")
    args = parser.parse_args(argv)
    for p in args.profiles:
        print(summarise(p, args.top, args.match))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
