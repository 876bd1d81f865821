#!/usr/bin/env python3
"""Code footprint per statement: the distinct 64-byte lines of machine code
the client executes at least once per statement.

When the client and the server share a core, the server runs between two
statements and evicts the client's caches, so every line of code a statement
runs is fetched again each time: this count, more than the instruction count,
sets what the client pays for its code.

Input: two callgrind runs of `examples/per_statement.rs` that differ only in
their number of rounds (1 and 2), with per-instruction counts:

    for r in 1 2; do
      ROUNDS=$r valgrind --tool=callgrind --dump-instr=yes \\
        --compress-pos=no --compress-strings=no \\
        --callgrind-out-file=/tmp/fp.orm.$r \\
        target/release/examples/per_statement orm-get
    done
    tools/code_footprint.py /tmp/fp.orm      # reads /tmp/fp.orm.1 and .2

An instruction counts when the second run executed it at least 0.9 * N times
more than the first (N = 10,000 statements per round): it ran in (nearly)
every statement. Prints the total and the functions with the most lines.
"""
import collections
import sys

N = 10_000
LINE = 64


def load(path):
    """Instruction address -> executions, and address -> function name."""
    counts, function_of = collections.Counter(), {}
    function, last, after_call = None, 0, False
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                function = line[3:].strip()
                continue
            if line.startswith("calls="):
                # The next cost line is the call's inclusive cost.
                after_call = True
                continue
            if not line[:1] or line[0] not in "0123456789+-*":
                continue
            parts = line.split()
            pos = parts[0]
            if pos.startswith("0x"):
                addr = int(pos, 16)
            elif pos[0] in "+-":
                step = int(pos[1:], 0)
                addr = last + step if pos[0] == "+" else last - step
            elif pos == "*":
                addr = last
            else:
                continue
            last = addr
            if after_call:
                after_call = False
                continue
            # positions: instr line; events: Ir
            if len(parts) >= 3:
                counts[addr] += int(parts[2])
                function_of[addr] = function
    return counts, function_of


def footprint(prefix):
    one, _ = load(prefix + ".1")
    two, function_of = load(prefix + ".2")
    lines = collections.defaultdict(set)
    for addr, n in two.items():
        if n - one.get(addr, 0) >= 0.9 * N:
            lines[function_of[addr]].add(addr // LINE)
    return lines


def main():
    for prefix in sys.argv[1:]:
        lines = footprint(prefix)
        total = set().union(*lines.values()) if lines else set()
        print(f"{prefix}: {len(total)} lines ({len(total) * LINE} bytes) per statement")
        for function, ls in sorted(lines.items(), key=lambda kv: -len(kv[1]))[:20]:
            print(f"  {len(ls):4d}  {function[:110]}")


if __name__ == "__main__":
    main()
