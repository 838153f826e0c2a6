"""``python -m grading`` (also what ``torchrun -m grading train ...`` starts on every rank) and the ``grading``
console script (:func:`spinecore.startup.run_program`)."""

from spinecore.startup import run_program


def main() -> None:
    run_program("grading.cli")


if __name__ == "__main__":
    main()
