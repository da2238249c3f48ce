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
        stack = []  # open events: [end, name, time of their children, duration]
        for e in evs + [None]:  # None closes what is still open
            start = e["ts"] if e else float("inf")
            while stack and stack[-1][0] <= start:
                _, name, child, dur = stack.pop()
                self_us[name] += dur - child
            if e is None:
                break
            if stack:
                stack[-1][2] += e["dur"]
            stack.append([start + e["dur"], e["name"], 0.0, e["dur"]])
            incl_us[e["name"]] += e["dur"]
            calls[e["name"]] += 1
    total = sum(self_us.values())
    print(f"{'operator':<48} {'self ms/step':>12} {'share':>6} {'calls/step':>10} {'incl ms/step':>12}")
    for name, us in self_us.most_common(args.top):
        print(f"{name[:48]:<48} {us / 1e3 / args.steps:12.1f} {100 * us / total:5.1f}% "
              f"{calls[name] / args.steps:10.0f} {incl_us[name] / 1e3 / args.steps:12.1f}")
    print(f"{'all':<48} {total / 1e3 / args.steps:12.1f}")


if __name__ == "__main__":
    main()
