"""Test tiers. ``pytest`` runs the fast tier: every test not marked ``slow`` or ``labelstudio``. ``pytest --full``
runs the full tier, every test (what ``.ci/run`` and the README's test command run). ``-m EXPR`` picks tests by
marker instead (e.g. ``-m slow``) and turns the tier selection off.

The 3-D convolutions of every test run with the product's safe oneDNN kernels (``spinecore.cpu``), applied here
before any test runs a convolution, as ``grading`` and ``imaging`` apply them when they build a network.
"""

from __future__ import annotations

import pytest

from spinecore.cpu import configure_cpu_kernels

FULL_TIER_MARKERS = ("slow", "labelstudio")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="run the full tier: also the tests marked slow or labelstudio (the fast tier skips them)")


def pytest_configure(config: pytest.Config) -> None:
    configure_cpu_kernels()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--full") or config.getoption("markexpr"):
        return
    keep, full_only = [], []
    for item in items:
        (full_only if any(item.get_closest_marker(m) for m in FULL_TIER_MARKERS) else keep).append(item)
    if full_only:
        config.hook.pytest_deselected(items=full_only)
        items[:] = keep


@pytest.fixture
def coded_failure():
    """``check(result, code, *names)``: a CLI command (``CliRunner`` result) failed with exit status 2 and a
    single line, no traceback, carrying ``[code]`` and every name; returns that line."""

    def check(res, code: str, *names: str) -> str:
        text = res.output.strip()
        assert res.exit_code == 2, res.output
        assert "Traceback" not in text and len(text.splitlines()) == 1, text
        assert f"[{code}]" in text and all(n in text for n in names), text
        return text

    return check
