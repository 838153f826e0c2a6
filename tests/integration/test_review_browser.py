"""The review as a radiologist meets it: a real Label Studio server (conftest.py) driven in Debian's Chromium by
Playwright, at 1440x900. A reviewer signs up, opens the task ``review push`` created, sees why the report is there
and all six level rows, changes one grade in the grid, submits; ``review pull`` puts the change (and who made it)
into the gold file.

Needs the ``chromium`` package (``/usr/bin/chromium``, or ``REVIEW_CHROMIUM``) and the ``playwright`` Python package
(Playwright's own browser download is not used). Screenshots go to ``$REVIEW_ARTIFACTS`` (default: the test's
tmp folder, ``screenshots/``). Full tier: ``pytest -m full``.
"""

import copy
import os
import secrets
from pathlib import Path

import pytest

from reportparse import parse_text
from reportparse.gold import GoldReport, load_gold, save_gold
from reportparse.review import pull, push

pytestmark = pytest.mark.labelstudio

CHROMIUM = Path(os.environ.get("REVIEW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}
LEVEL_ROWS = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
PROJECT = "browser review"
TEXT = ("INDICATION: Low back pain radiating to the left leg.\n\nFINDINGS:\n"
        "L3-4: Severe spinal canal stenosis. Mild bilateral neural foraminal narrowing.\n"
        "L4-5: Moderate right foraminal stenosis.\nL5-S1: No stenosis.")
REASON = "parser disagrees with the gold set at 1 slot(s): L3-L4 scs: parser severe, gold mild"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (.ci/run installs both: apt-get install chromium; pip install playwright)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    if not CHROMIUM.is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REVIEW_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    folder = Path(os.environ["REVIEW_ARTIFACTS"]) if os.environ.get("REVIEW_ARTIFACTS") else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def in_view(box) -> bool:
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"] and \
        box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]


def test_review_in_the_browser(labelstudio, browser, artifacts, tmp_path):
    labels = copy.deepcopy(parse_text(TEXT).grades)
    assert labels["L3-L4"]["scs"] == 3
    labels["L3-L4"]["scs"] = 1  # the gold error the parser disagrees with
    gold = tmp_path / "annotations.json"
    save_gold([GoldReport("B1", TEXT, labels, split="tune", task_id=1)], gold)
    pushed = push(PROJECT, gold=gold, url=labelstudio.url, api_key=labelstudio.api_key)
    assert pushed.created == ["B1"]

    page = browser.new_page(viewport=VIEWPORT)
    try:
        # a reviewer of their own: sign up (the server's one organisation), then open the pushed task
        email = "radiologist@review.test"
        page.goto(f"{labelstudio.url}/user/signup/")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", secrets.token_urlsafe(12))
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/user/signup" not in url, timeout=60_000)
        page.goto(f"{labelstudio.url}/projects/{pushed.project_id}/data")
        page.get_by_text("B1", exact=True).first.click(timeout=90_000)
        cell = page.locator("xpath=//h4[normalize-space()='L3-L4']/following-sibling::div[1]"
                            "//button[@data-slot='popover-trigger']")
        cell.wait_for(timeout=90_000)
        page.wait_for_timeout(1000)  # let the evidence regions render before the picture
        page.screenshot(path=str(artifacts / "1-task-opened.png"))

        # why the report is here, above it; the disputed cell shows the gold value; all six rows on screen
        reason = page.get_by_text(REASON, exact=True)
        assert reason.is_visible() and in_view(reason.bounding_box())
        for level in LEVEL_ROWS:
            row = page.locator(f"xpath=//h4[normalize-space()='{level}']")
            assert row.count() == 1 and in_view(row.bounding_box()), f"{level} row is not on the screen"
        assert page.locator("xpath=//h4[normalize-space()='L3-L4']/following-sibling::div[1]"
                            "//h4[normalize-space()='gold mild']").is_visible()
        assert cell.get_attribute("data-value") == "severe"  # the parser's grade, pre-filled

        # the reviewer reads the report and sets L3-L4 canal stenosis to moderate, then submits
        cell.click()
        page.get_by_test_id("select-option-moderate").click()
        page.keyboard.press("Escape")
        assert cell.get_attribute("data-value") == "moderate"
        page.screenshot(path=str(artifacts / "2-grade-changed.png"))
        with page.expect_response(lambda r: "/annotations" in r.url and r.request.method == "POST"
                                  and r.status == 201, timeout=60_000):
            page.get_by_role("button", name="Submit").click()
        page.screenshot(path=str(artifacts / "3-submitted.png"))
    except Exception:
        page.screenshot(path=str(artifacts / "failure.png"))
        raise
    finally:
        page.close()

    # pull: the change is in the new gold file, with who made it and when
    out = tmp_path / "annotations.reviewed.json"
    summary = pull(gold, PROJECT, out=out, url=labelstudio.url, api_key=labelstudio.api_key)
    assert (summary.tasks, summary.reviewed, summary.changed) == (1, 1, ["B1"])
    (merged,) = load_gold(out)
    expected = copy.deepcopy(parse_text(TEXT).grades)
    expected["L3-L4"]["scs"] = 2
    assert merged.labels == expected
    assert merged.annotator == email and merged.reviews[0]["reviewers"] == [email]
    assert merged.reviews[0]["outcome"] == "changed" and merged.reviews[0]["reviewed_at"].startswith("20")
    evidence = {(r["from_name"], r["value"]["labels"][0]) for r in merged.extra_result}
    assert ("evidence", "L3-L4 scs") in evidence and ("evidence_grade", "severe") in evidence
    assert all(r["value"]["start"] > TEXT.index("FINDINGS") for r in merged.extra_result)
    assert sorted(p.name for p in artifacts.glob("*.png")) == ["1-task-opened.png", "2-grade-changed.png",
                                                               "3-submitted.png"]
