"""Coded errors for every package of the toolkit, in spaCy's style.

Each package has one ``errors.py`` with an ``Errors`` catalogue (and a ``Warnings`` catalogue where it has coded
warnings): classes whose attributes are message templates, read through :class:`ErrorsWithCodes` so that every
message starts with its code (``Errors.I001`` is ``"[I001] Study path ..."``). Each package raises a subclass of
:class:`CodedError`, whose ``code`` holds that code; the command lines turn any coded error into one line and exit
status 2 (:mod:`spinecore.cli`). Codes are stable, so that users can search for them; new ones go at the end.

Letters in use: ``E``/``W`` reportparse, ``I``/``S`` imaging (studies and extraction / segmentation), ``G``
grading, ``C`` the shared plumbing of this package (tables, atomic writing, settings).
"""

from __future__ import annotations

import re

__all__ = ["ErrorsWithCodes", "CodedError", "CoreError", "Errors"]

_PREFIX = re.compile(r"^\[([A-Z]\d{3})\]")


class ErrorsWithCodes(type):
    """Metaclass that prefixes each message with its code, e.g. ``[E001] ...``."""

    def __getattribute__(cls, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class CodedError(Exception):
    """A user-facing error whose message starts with its catalogue code; ``code`` holds it (``'I001'``) or None."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is None:
            found = _PREFIX.match(message)
            code = found.group(1) if found else None
        self.code = code


class CoreError(CodedError, ValueError):
    """An error of the shared plumbing (``C0xx``): reading and writing tables, settings."""


class Errors(metaclass=ErrorsWithCodes):
    # tables (spinecore.io)
    C001 = "{role} file '{path}' does not exist. Check the path (current folder: {cwd})."
    C002 = ("{role} file '{path}' has the suffix '{suffix}', which is not a supported format. Use one of {formats}, "
            "or rename the file if its content is one of those formats.")
    C003 = "{role} file '{path}' could not be read as {format}: {error}. Check that it is a valid {format} file."
    C004 = ("{role} table '{path}' lacks the column(s) {missing}; it has {columns}. Give the table written by "
            "{producer}, or rename the columns.")
    C005 = ("Output path '{path}' has the suffix '{suffix}', which is not a supported output format. Use one of "
            "{formats}.")
    C006 = "Output folder '{path}' does not exist. Create it first or choose another output path."
    # settings (spinecore.config)
    C010 = "{config} has the unknown key(s) {keys}. Expected only {allowed}. Remove or rename the key(s)."
    C011 = "{config} file '{path}' could not be read as a JSON object: {error}. Fix the file or pass another --config."
