#!/usr/bin/env python3
"""Sums a chrome trace written by `nucseg_model_bench --profile FILE` per operator.

Prints each operator's exclusive (self) time, its share of all self time, its calls and its
inclusive time, heaviest first. Self time: an event's duration less that of the events nested
in it on the same thread, so nested ATen calls (convolution -> mkldnn_convolution) are not
counted twice.
Usage: profile_ops.py TRACE.json [--top N] [--steps N]   (--steps: per-step milliseconds)
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--steps", type=int, default=1, help="timed steps in the trace (per-step ms)")
    args = ap.parse_args()
    events = [e for e in json.load(open(args.trace)) if e.get("ph") == "X"]
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e["tid"]].append(e)
    self_us = collections.Counter()
    incl_us = collections.Counter()
    calls = collections.Counter()
    for evs in by_thread.values():
        # Parents first: earlier start, then the longer one.
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, name, child time]
        def close(item):
            end, name, child, dur = item
            self_us[name] += dur - child
        for e in evs:
            start, dur = e["ts"], e["dur"]
            while stack and stack[-1][0] <= start:
                close(stack.pop())
            if stack:
                stack[-1][2] += dur
            stack.append([start + dur, e["name"], 0.0, dur])
            incl_us[e["name"]] += dur
            calls[e["name"]] += 1
        while stack:
            close(stack.pop())
    total = sum(self_us.values())
    print(f"{'operator':<48} {'self ms/step':>12} {'share':>6} {'calls/step':>10} {'incl ms/step':>12}")
    for name, us in self_us.most_common(args.top):
        print(f"{name[:48]:<48} {us / 1e3 / args.steps:12.1f} {100 * us / total:5.1f}% "
              f"{calls[name] / args.steps:10.0f} {incl_us[name] / 1e3 / args.steps:12.1f}")
    print(f"{'all':<48} {total / 1e3 / args.steps:12.1f}")


if __name__ == "__main__":
    main()
