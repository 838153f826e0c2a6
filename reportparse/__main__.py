"""``python -m reportparse`` and the ``reportparse`` console script (:func:`spinecore.startup.run_program`)."""

from spinecore.startup import run_program


def main() -> None:
    run_program("reportparse.cli")


if __name__ == "__main__":
    main()
