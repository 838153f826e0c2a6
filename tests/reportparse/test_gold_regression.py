"""Gold-set regression: the parser's exact accuracy on the ``tune`` and ``holdout`` splits of ``gold/`` may not fall
more than half a point below the figures the README states (its "Accuracy" table)."""

import re
from pathlib import Path

import pytest

from reportparse.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 0.005


def readme_figure(split: str) -> float:
    """The exact accuracy the README's accuracy table states for ``split`` (a fraction)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| {split} \([^|]*\| \d+ \| (\d+\.\d)% \|", text, re.MULTILINE)
    assert match, f"README.md has no accuracy row for the {split} split"
    return float(match.group(1)) / 100


@pytest.fixture(scope="module")
def by_split():
    return evaluate(ROOT / "gold" / "annotations.json").by_split  # one parser run for both splits


@pytest.mark.parametrize("split", ["tune", "holdout"])
def test_gold_accuracy_does_not_drop_below_the_readme(split, by_split):
    exact, stated = by_split[split].exact, readme_figure(split)
    assert exact >= stated - TOLERANCE, (
        f"{split}: exact accuracy {exact:.2%} is more than half a point below the README's {stated:.1%}")
