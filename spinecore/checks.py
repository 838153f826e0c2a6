"""Checks that commands run on their inputs and outputs before any work: writable outputs, checkpoint files.

Each returns or raises a plain description of the problem; the calling package wraps it in its own coded error
(``imaging.errors``, ``grading.errors``), which names the option and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["CheckpointError", "unwritable", "read_checkpoint"]


class CheckpointError(ValueError):
    """A file that is not a checkpoint of the expected kind; the message says what it is instead."""


def unwritable(path: str | os.PathLike, *, folder: bool) -> str | None:
    """Why ``path`` cannot be written as a folder (``folder=True``) or a file, or None when it can.

    Nothing is created: the nearest existing folder above ``path`` must be writable, and ``path`` itself, when it
    exists, must be of the right kind (and writable).
    """
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            return "it exists and is not a folder"
        if not folder and path.is_dir():
            return "it is a folder"
        return None if os.access(path, os.W_OK) else "it is not writable"
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir():
        return f"'{parent}' is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the folder '{parent}' is not writable"
    return None


def read_checkpoint(path: str | os.PathLike, kind: str, *, map_location: Any = "cpu",
                    weights_only: bool = True) -> dict[str, Any]:
    """The contents of the torch checkpoint ``path``, which must be a dict with ``"kind": kind``.

    Raises:
        CheckpointError: the file is missing, a folder, not a torch checkpoint, or a checkpoint of another kind.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError("the file does not exist")
    if path.is_dir():
        raise CheckpointError("it is a folder")
    try:
        state = torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as err:  # noqa: BLE001 - unpickling a foreign file raises nearly anything (IndexError, KeyError ...)
        detail = (str(err).strip().splitlines() or [""])[0][:120]
        raise CheckpointError(f"it is not a torch checkpoint ({type(err).__name__}"
                              + (f": {detail})" if detail else ")")) from None
    found = state.get("kind") if isinstance(state, dict) else None
    if found != kind:
        raise CheckpointError(f"it is a checkpoint of kind {found!r}" if found else
                              "it is a torch file without a checkpoint kind")
    return state
