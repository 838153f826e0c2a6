"""The catalogues of the coded, actionable errors (``Errors``) and report statuses (``Warnings``) of
``reportparse`` (the mechanism: :mod:`spinecore.errors`).

Every message names the bad value, what was expected and how to fix it. Codes are stable so that users can
search for them; add new ones at the end. Retired: E106 (an output suffix of no table format: now C005 of the
shared table writer), E311 (a prediction table without a needed column: now C004).
"""

from __future__ import annotations

from spinecore.errors import CodedError, ErrorsWithCodes


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
    E107 = "Output folder '{path}' does not exist. Create it first or choose another output path."
    E108 = ("-j/--workers (n_process) must be at least 1, got {value}. Use 1 for a single process or the number "
            "of CPU cores.")
    E109 = "Input file '{path}' is empty (no header row). Give a file with a header naming the id and text columns."
    E110 = "--max-chars must be a positive number of characters, got {value}."
    E111 = "table must be 'levels' or 'evidence', got {value!r}."
    E112 = ("The DataFrame has no {role} column {what}. It has the columns {columns}. Name the column with "
            "{option}.")
    E113 = ("refresh_every must be 0 (never rebuild the parser) or a positive number of reports, got {value}. "
            "The default, {default}, keeps memory flat on archives of any size.")
    # gold set (Label Studio JSON export) and evaluation
    E301 = ("Gold file '{path}' does not exist. Give a Label Studio JSON export such as gold/annotations.json "
            "(current folder: {cwd}).")
    E302 = ("Gold file '{path}' is not valid JSON: {error}. Export the project again with Label Studio's 'JSON' "
            "format, or fix the syntax at the position given.")
    E303 = ("Gold file '{path}' must be a JSON list of tasks (Label Studio's 'JSON' export), got {got}. Use the "
            "'JSON' export, not 'JSON_MIN' or CSV.")
    E304 = ("Gold file '{path}', task {task}: '{key}' is {value!r}; expected {expected}. Fix the task or export "
            "the project again.")
    E305 = ("Gold task {task}, control '{control}': unknown choice {value!r}. Expected one of {choices}; use the "
            "label config shipped in rules/labelstudio/label_config.xml.")
    E306 = ("Gold task {task}, control '{control}': {n} choices {values}; a grade control takes exactly one. "
            "Fix the annotation in Label Studio and export again.")
    E307 = ("Gold file '{path}': report_id {report_id!r} appears in task {first} and task {second}. Each report "
            "must be one task; delete or rename the duplicate.")
    E308 = ("Gold report {report_id!r}: labels[{level!r}][{location!r}] is {value!r}; expected an integer 0-3 or "
            "None for every one of the levels {levels} and locations {locations}.")
    E309 = ("Gold task {task}: '{key}' is {value!r}, which is not an ISO 8601 timestamp (e.g. "
            "'2026-01-31T12:00:00.000000Z'). Fix the timestamp or export the project again.")
    E310 = ("--split {split!r} matches no gold report; the gold file has the splits {splits}. Pass one of them "
            "or omit --split to score every report.")
    E312 = ("Prediction file '{path}', row {row}: {column} is {value!r}; expected {expected}. Give a levels table "
            "written by 'reportparse extract'.")
    E313 = "--min-accuracy must be a fraction between 0 and 1, got {value}. For 90% pass 0.9."
    E314 = ("Gold file '{path}' holds no text for {n} report(s) ({ids}): its labels are kept apart from texts that "
            "may not be copied. Pass the texts with --texts (e.g. --texts ../shared/data/reports-real/notes.jsonl).")
    E315 = ("Texts file '{texts}' has no text for the gold report(s) {ids}. Give the file the gold set was "
            "annotated on (its id and text columns), or remove those reports from the gold file.")
    # Label Studio review (reportparse.review); messages never carry the API key
    E401 = ("{name} is not set. Export the {what} of your Label Studio server, e.g. {example}, before "
            "'reportparse review {command}' (or use 'reportparse review export' when no server is reachable).")
    E402 = ("Cannot reach a Label Studio server at {url}: {error}. Start the server (label-studio start) or fix "
            "LABEL_STUDIO_URL; without a server, use 'reportparse review export' and import the file by hand.")
    E403 = ("The Label Studio server at {url} rejected the API key (HTTP {status}). Copy the key from Label Studio "
            "(Account & Settings > Access Token) into LABEL_STUDIO_API_KEY; with a legacy token, the server must "
            "allow legacy tokens.")
    E404 = ("The server at {url} answered HTTP {status} to {action}: {detail}. Check that LABEL_STUDIO_URL is the "
            "address of a Label Studio server and look at its log; the gold set was not changed.")
    E405 = ("No Label Studio project titled {title!r} at {url}. The projects there are {titles}. Pass the title "
            "used with 'reportparse review push' (--project).")
    E406 = ("Label Studio export {source} is malformed: {problem}. Export the project again in Label Studio's "
            "'JSON' format (not JSON_MIN or CSV); the gold set was not changed.")
    E407 = ("Give exactly one source of reports to review: --gold (a Label Studio JSON export such as "
            "gold/annotations.json) or --reports (a .csv, .jsonl or .parquet file); got {got}.")
    E408 = ("Give exactly one of -o/--output NEW.json (write a new gold file) or --in-place (replace {gold}, keeping a "
            "timestamped backup); got {got}.")
    E409 = ("-o/--output '{out}' is the gold file itself. Pass --in-place to replace it (a timestamped backup is "
            "kept), or choose another -o/--output.")
    E410 = ("Task file '{path}' must end in .json (Label Studio's JSON import format). Choose a name such as "
            "tasks.json.")
    E411 = ("More than one Label Studio project is titled {title!r} at {url} (ids {ids}). Rename or delete the "
            "extra projects so that the title names one project.")
    E412 = ("Give exactly one place to pull the annotations from: --project TITLE (a project on the Label Studio "
            "server) or --export FILE (a JSON export saved from Label Studio); got {got}.")
    E413 = ("Predictions file '{path}' has no column {missing!r}; it has {columns}. Give the table written by "
            "'grading predict' (report_id, level, scs, rfs, lfs, status and the probabilities scs_p0 .. lfs_p3).")
    E414 = ("--min-probability must be a probability between 0 and 1, got {value}. For 80% pass 0.8.")


class Warnings(metaclass=ErrorsWithCodes):
    # report-level statuses: written to the status/reason columns of the levels table, never raised
    W201 = "empty report text"
    W202 = "report text has {n} characters, over the limit of {limit}; raise --max-chars to parse it"
    W203 = "missing report id"
    W204 = "duplicate report_id (first seen at input row {row})"
    W205 = "the text was not valid UTF-8; undecodable bytes were replaced"
    W206 = "unreadable input row: {error}"
    W207 = "parser failure: {error}"


class ReportParseError(CodedError, ValueError):
    """A user-facing error from reportparse; the message carries its catalogue code."""
