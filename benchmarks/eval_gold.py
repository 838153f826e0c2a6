"""Score the report parser against the hand-annotated gold set (``gold/reports.jsonl``).

    python benchmarks/eval_gold.py --split holdout [--errors]

Prints the exact accuracy over the slots the gold determines and the share of open (not stated) slots that
the parser grades anyway. Tune only against ``--split tune``; ``holdout`` is for reporting.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reportparse import LEVELS, LOCATIONS, build_pipeline, parse_text

GOLD = Path(__file__).resolve().parents[1] / "gold" / "reports.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "holdout", "all"), default="holdout")
    parser.add_argument("--errors", action="store_true", help="list the disagreeing slots")
    args = parser.parse_args()
    nlp = build_pipeline()
    determined = exact = within_one = open_slots = open_graded = 0
    errors = []
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        report = json.loads(line)
        if args.split != "all" and report["split"] != args.split:
            continue
        grades = parse_text(report["text"], nlp).grades
        for level in LEVELS:
            for loc in LOCATIONS:
                gold, pred = report["labels"][level][loc], grades[level][loc]
                if gold is None:
                    open_slots += 1
                    open_graded += pred is not None
                else:
                    determined += 1
                    exact += pred == gold
                    within_one += pred is not None and abs(pred - gold) <= 1
                if pred != gold:
                    errors.append((report["report_id"], level, loc, gold, pred))
    print(f"split {args.split}: {determined} determined slots, exact {exact / determined:.1%}, "
          f"within one grade {within_one / determined:.1%}; {open_slots} open slots, "
          f"graded anyway {open_graded / max(open_slots, 1):.1%}")
    if args.errors:
        for err in errors:
            print("  %s %s %s gold=%s parser=%s" % err)


if __name__ == "__main__":
    main()
