"""``python -m reportparse`` and the ``reportparse`` console script (:func:`spinecore.startup.run_program`)."""

import os

from spinecore.startup import run_program


def main() -> None:
    # numpy (which spaCy imports) starts OpenBLAS's thread pool as it is imported: about 0.1 CPU s of a start-up of
    # about 0.9 s, for linear algebra the parser never does. A value the user set is kept (and passed to -j workers).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    run_program("reportparse.cli")


if __name__ == "__main__":
    main()
