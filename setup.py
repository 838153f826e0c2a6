"""Build script (the project's metadata is in pyproject.toml): compiles four stages of the report parser with mypyc
where it can.

The lexicon, level, finding and grade stages (``reportparse/lexicon.py``, ``levels.py``, ``findings.py``,
``grades.py``) are plain, fully typed Python, most of the parser's own work; mypyc turns them into C extension modules
that run them in about half the time (findings and grades in less), with the same results (``reportparse.native``
explains when the compiled modules are used; the tests compare both ways). Compiling needs mypy (a build requirement)
and a C compiler. Where either is missing, or the modules fail mypy's type check, the install goes on without the
compiled modules and the parser runs from the sources; ``REPORTPARSE_PURE_PYTHON=1`` skips compiling on purpose.

After the build, ``reportparse/_compiled.json`` records the SHA-256 of each source as it was compiled, next to the
compiled modules (in the source tree for an editable install, in the wheel otherwise): an edited source makes the
parser use the sources until the next install.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
#: The compiled modules (``reportparse.native.COMPILED``) and the mypyc group that holds their shared code.
MODULES = ("reportparse.lexicon", "reportparse.levels", "reportparse.findings", "reportparse.grades")
GROUP = "reportparse.stages"
PURE_ENV = "REPORTPARSE_PURE_PYTHON"
#: The setup.py commands that build modules (pip's metadata steps need no compiled module).
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}
RECORD = "_compiled.json"


def source(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def extensions() -> tuple[list, dict[str, str]]:
    """The mypyc extension modules (each optional: a failed compilation is a warning) and the SHA-256 of the sources
    they are made from; none when this command builds nothing or mypyc cannot compile the sources."""
    if not BUILDS.intersection(sys.argv[1:]) or os.environ.get(PURE_ENV) == "1":
        return [], {}
    digests = {module: hashlib.sha256(source(module).read_bytes()).hexdigest() for module in MODULES}
    try:
        from mypyc.build import mypycify

        # the third-party packages are not read (their values are Any): the same code whatever is installed beside
        # the build (pip's isolated build environment has none of them), and a type check of seconds
        modules = mypycify(["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent",
                            *(str(source(module).relative_to(ROOT)) for module in MODULES)],
                           opt_level="3", group_name=GROUP)
    except (SystemExit, Exception) as exc:  # mypy absent (ImportError), or a type error (mypy exits)
        print(f"warning: the report parser's stages are not compiled ({exc!r}); they run from the sources",
              file=sys.stderr)
        return [], {}
    for module in modules:
        module.optional = True
    return modules, digests


EXTENSIONS, DIGESTS = extensions()


class BuildStages(build_ext):
    """setuptools' build_ext, then the record of the compiled sources (only where every module was compiled)."""

    def run(self) -> None:
        super().run()
        built = all(Path(self.build_lib, self.get_ext_filename(self.get_ext_fullname(ext.name))).is_file()
                    for ext in self.extensions)
        text = json.dumps({"library": GROUP.rsplit(".", 1)[1] + "__mypyc",
                           "sources": DIGESTS if built and self.extensions else {}}, indent=1) + "\n"
        targets = [Path(self.build_lib, "reportparse", RECORD)]
        if self.inplace or self.editable_mode:
            targets.append(ROOT / "reportparse" / RECORD)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": BuildStages})
