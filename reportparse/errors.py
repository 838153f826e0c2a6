"""A catalogue of the coded, actionable errors raised by ``reportparse``.

Every message names the bad value, what was expected and how to fix it. Codes are stable so that users can
search for them; add new ones at the end.
"""

from __future__ import annotations


class ErrorsWithCodes(type):
    """Metaclass that prefixes each message with its code, e.g. ``[E001] ...``."""

    def __getattribute__(cls, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class Errors(metaclass=ErrorsWithCodes):
    # rules
    E001 = ("Rules folder '{path}' does not exist or is not a folder. Pass the folder that holds "
            "{files} (see rules/reportparse in the source tree), or omit --rules to use the shipped rules.")
    E002 = ("Rules file '{path}' is missing. A rules folder must hold {files}; copy the missing file from the "
            "shipped rules (rules/reportparse) and edit it.")
    E003 = "Rules file '{path}' is not valid JSON: {error}. Fix the JSON syntax at the position given."
    E004 = ("Rules file '{path}', entry {index} ({literal!r}): unknown key '{key}'. Expected only {allowed}. "
            "Remove or rename the key.")
    E005 = ("Rules file '{path}', entry {index} ({literal!r}): key '{key}' has the value {value!r}; expected "
            "{expected}. Correct the value.")
    E006 = ("Rules file '{path}', entry {index} ({literal!r}): missing required key '{key}' ({expected}). "
            "Add it to the entry.")
    E007 = ("Rules file '{path}': top-level key '{key}' expected {expected}, got {value!r}. The file must be a JSON "
            "object of the form {example}.")
    E008 = ("Rules file '{path}', entry {index} ({literal!r}): the pattern is rejected by the matcher: {error}. "
            "Fix the pattern (spaCy token patterns or a Python regular expression).")
    # inputs
    E101 = "Input file '{path}' does not exist. Check the path (current folder: {cwd})."
    E102 = ("Input file '{path}' has the suffix '{suffix}', which is not a supported format. Use one of {formats}, "
            "or rename the file if its content is one of those formats.")
    E103 = ("Input file '{path}' has no {role} column named {wanted!r}. It has the columns {columns}. "
            "Pass the right name with {option}.")
    E104 = ("Input file '{path}' has no {role} column among the usual names {candidates}. It has the columns "
            "{columns}. Pass the column with {option}.")
    E105 = "Input file '{path}' could not be read as {format}: {error}. Check that the file is a valid {format} file."
    E106 = ("Output path '{path}' has the suffix '{suffix}', which is not a supported output format. Use one of "
            "{formats}.")
    E107 = "Output folder '{path}' does not exist. Create it first or choose another output path."
    E108 = "--n-process must be at least 1, got {value}. Use 1 for a single process or the number of CPU cores."
    E109 = "Input file '{path}' is empty (no header row). Give a file with a header naming the id and text columns."
    E110 = "--max-chars must be a positive number of characters, got {value}."
    # report-level statuses (written to the status/reason columns, never raised)
    W201 = "empty report text"
    W202 = "report text has {n} characters, over the limit of {limit}; raise --max-chars to parse it"
    W203 = "missing report id"
    W204 = "duplicate report_id (first seen at input row {row})"
    W205 = "the text was not valid UTF-8; undecodable bytes were replaced"
    W206 = "unreadable input row: {error}"
    W207 = "parser failure: {error}"


class ReportParseError(ValueError):
    """A user-facing error from reportparse; the message carries its catalogue code."""
