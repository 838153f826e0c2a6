"""``reportparse.lightimport``: a report-parsing process loads neither torch nor nltk nor langcodes nor spaCy's
command line, and all stay importable.

Each case runs in a fresh interpreter, since what matters is the import order of a whole process.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reportparse import lightimport

ROOT = Path(__file__).resolve().parents[2]
REPORT = "FINDINGS:\nL4-5: Moderate canal stenosis. Mild right foraminal narrowing."


def run_python(code: str, **env: str) -> dict:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_parsing_keeps_torch_nltk_and_langcodes_out_and_all_import_afterwards():
    pytest.importorskip("torch")
    out = run_python(f"""
import json, sys
import reportparse
grades = reportparse.parse_text({REPORT!r}).grades["L4-L5"]
loaded = {{"torch": "torch" in sys.modules, "nltk_run": type(sys.modules.get("nltk")).__name__,
          "langcodes_run": type(sys.modules.get("langcodes")).__name__}}
import spacy.util
norwegian = spacy.util.find_matching_language("no")  # spaCy's one use of langcodes
import thinc.compat
import torch
total = float(torch.ones(3).sum())
import nltk
print(json.dumps({{"grades": grades, **loaded, "thinc_torch": thinc.compat.has_torch, "total": total,
                  "edit_distance": nltk.edit_distance("foramen", "foramina"), "norwegian": norwegian}}))
""")
    assert out["grades"] == {"scs": 2, "rfs": 1, "lfs": None}
    assert out["torch"] is False
    assert out["nltk_run"] == "_LazyModule"  # imported by medspaCy, never executed
    assert out["langcodes_run"] == "_LazyModule"  # imported by spaCy, never executed
    assert out["thinc_torch"] is False
    assert out["total"] == 3.0  # torch imported after the parser works
    assert out["edit_distance"] == 2  # so does nltk, on first use
    assert out["norwegian"] == "nb"  # and langcodes


def test_spacy_command_line_runs_only_when_used_and_then_works_as_usual():
    out = run_python(f"""
import json, sys
import reportparse
grades = reportparse.parse_text({REPORT!r}).grades["L4-L5"]
loaded = sorted(m for m in ("requests", "jinja2", "weasel", "spacy.cli.download", "spacy.cli._util") if m in sys.modules)
import spacy
markdown = spacy.info(markdown=True, silent=True)  # the stand-in runs spacy.cli.info
import spacy.cli
from spacy.cli import download, setup_cli
from spacy.cli.init_config import fill_config
print(json.dumps({{"grades": grades, "loaded": loaded, "info": "spaCy version" in markdown,
                  "download": download.__module__, "setup_cli": callable(setup_cli), "fill": fill_config.__module__,
                  "requests": "requests" in sys.modules, "no_name": hasattr(spacy.cli, "no_such_name")}}))
""")
    assert out["grades"] == {"scs": 2, "rfs": 1, "lfs": None}
    assert out["loaded"] == []  # spaCy imported spacy.cli and spacy.cli.info without running either
    assert out["info"] is True
    assert out["download"] == "spacy.cli.download" and out["setup_cli"] is True
    assert out["fill"] == "spacy.cli.init_config"
    assert out["requests"] is True  # the command line's own imports, once it ran
    assert out["no_name"] is False


def test_a_deferred_module_runs_on_first_use_and_again_after_its_code_failed(tmp_path, monkeypatch):
    path = tmp_path / "deferred_demo.py"
    path.write_text("import os\nif os.environ.get('DEMO_FAIL'):\n    raise ImportError('demo failure')\n"
                    "VALUE = 42\ndef greet(name):\n    return 'hello ' + name\n")
    spec = importlib.util.spec_from_file_location("deferred_demo", path)
    spec.loader = lightimport._DeferredLoader(spec.loader, ("greet",))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "VALUE" not in vars(module) and callable(module.greet)  # not run yet; the stand-in is there
    with pytest.raises(AttributeError):
        module.__path__  # the import system's dunder look-ups do not run it
    assert "VALUE" not in vars(module)
    monkeypatch.setenv("DEMO_FAIL", "1")
    with pytest.raises(ImportError, match="demo failure"):
        module.VALUE
    monkeypatch.delenv("DEMO_FAIL")
    assert module.greet("spine") == "hello spine"  # the stand-in runs it, this time to the end
    assert module.VALUE == 42 and module.greet.__module__ == "deferred_demo"


@pytest.mark.parametrize("setup", ["import torch", "import os; os.environ['REPORTPARSE_THINC_TORCH'] = '1'"])
def test_thinc_sees_torch_when_it_was_imported_first_or_asked_for(setup):
    pytest.importorskip("torch")
    out = run_python(f"""
import json
{setup}
import reportparse
reportparse.parse_text({REPORT!r})
import thinc.compat
print(json.dumps({{"thinc_torch": thinc.compat.has_torch}}))
""")
    assert out["thinc_torch"] is True


def test_the_command_line_loads_the_review_code_only_when_a_review_name_is_used():
    out = run_python("""
import json, sys
import reportparse.cli
before = sorted(m for m in ("reportparse.gold", "reportparse.review.merge", "reportparse.review.server",
                           "reportparse.review.tasks") if m in sys.modules)
from reportparse.review import pull, push
import reportparse.review as review
print(json.dumps({"before": before, "pull": pull.__module__, "push": push.__module__,
                  "names": sorted(review.__all__) == sorted(n for n in review.__all__ if hasattr(review, n))}))
""")
    assert out == {"before": [], "pull": "reportparse.review.merge", "push": "reportparse.review.server",
                   "names": True}


def test_spacy_and_medspacy_import_without_garbage_collections_and_the_collector_runs_afterwards():
    out = run_python("""
import gc, json
import reportparse
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
import medspacy, spacy
during = len(collections)
enabled = gc.isenabled()
gc.collect()
print(json.dumps({"during": during, "enabled": enabled, "after": len(collections) - during}))
""")
    # about 200 collections without the pause; one may start while the import is looked up, one as it ends
    assert out["during"] <= 2
    assert out["enabled"] is True
    assert out["after"] == 1



def test_asyncio_and_tqdm_load_only_when_loguru_or_spacy_training_use_them():
    out = run_python(f"""
import json, sys
import reportparse
grades = reportparse.parse_text({REPORT!r}).grades["L4-L5"]
loaded = sorted(m for m in ("asyncio", "ssl") if m in sys.modules)
tqdm_run = "tqdm" in vars(sys.modules["tqdm"])  # (its own name, a class, is set when its code has run)
from loguru import logger
messages = []
async def sink(message):
    messages.append(str(message).strip())
async def main():
    handler = logger.add(sink, format="{{message}}")  # a coroutine sink: loguru's asyncio functions run
    logger.info("from a coroutine sink")
    await logger.complete()
    logger.remove(handler)
import asyncio
asyncio.run(main())
from spacy.training import loggers
bar = loggers.tqdm.tqdm(total=2, disable=True)
print(json.dumps({{"grades": grades, "loaded": loaded, "tqdm_run": tqdm_run, "messages": messages,
                  "bar": type(bar).__name__}}))
""")
    assert out["grades"] == {"scs": 2, "rfs": 1, "lfs": None}
    assert out["loaded"] == []  # loguru and spaCy imported them without running them
    assert out["tqdm_run"] is False
    assert out["messages"] == ["from a coroutine sink"]  # loguru's stand-ins run its asyncio module when needed
    assert out["bar"] == "tqdm"
