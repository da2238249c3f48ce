#!/usr/bin/python3
"""One Markdown table row of tools/crosscheck/score.sh: network and classical scores of a set,
overall and per style (when the set has a manifest.csv with id and style columns).

Usage: /usr/bin/python3 tools/crosscheck/score_row.py --header
       /usr/bin/python3 tools/crosscheck/score_row.py NAME SET RESULTS [--note TEXT]
RESULTS holds eval.json (nucseg_eval's report: report.images[].id/score) and classical.csv
(classical.py: id,score,...); either may be missing (shown as "-").
"""
import csv
import json
import os
import sys

HEADER = ("| set | images | network | classical | per style: network / classical | note |\n"
          "| --- | --- | --- | --- | --- | --- |")


def network_scores(results):
    path = os.path.join(results, "eval.json")
    if not os.path.exists(path):
        return None, {}
    with open(path) as f:
        report = json.load(f)
    per_image = {im["id"]: im["score"] for im in report["report"]["images"]}
    return report["score"], per_image


def classical_scores(results):
    path = os.path.join(results, "classical.csv")
    if not os.path.exists(path):
        return None, {}
    with open(path) as f:
        per_image = {r["id"]: float(r["score"]) for r in csv.DictReader(f)}
    return (sum(per_image.values()) / len(per_image) if per_image else None), per_image


def styles(set_dir):
    path = os.path.join(set_dir, "manifest.csv")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {r["id"]: r["style"] for r in csv.DictReader(f) if "style" in r}


def fmt(v):
    return "-" if v is None else "%.3f" % v


def mean_over(ids, scores):
    vals = [scores[i] for i in ids if i in scores]
    return sum(vals) / len(vals) if vals else None


def main():
    if sys.argv[1:] == ["--header"]:
        print(HEADER)
        return
    args = sys.argv[1:]
    note = ""
    if "--note" in args:
        i = args.index("--note")
        note = args[i + 1]
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    name, set_dir, results = args
    net, net_img = network_scores(results)
    cla, cla_img = classical_scores(results)
    style_of = styles(set_dir)
    groups = {}
    for sid, style in style_of.items():
        groups.setdefault(style, []).append(sid)
    per_style = ", ".join("%s %s / %s" % (s, fmt(mean_over(ids, net_img)), fmt(mean_over(ids, cla_img)))
                          for s, ids in sorted(groups.items()))
    n = max(len(net_img), len(cla_img))
    print("| %s | %d | %s | %s | %s | %s |" % (name, n, fmt(net), fmt(cla), per_style or "-", note))


if __name__ == "__main__":
    main()
