"""``python -m imaging`` and the ``imaging`` console script (:func:`spinecore.startup.run_program`)."""

from spinecore.startup import run_program


def main() -> None:
    run_program("imaging.cli")


if __name__ == "__main__":
    main()
