"""``reportparse review``: send the reports that need a look to Label Studio, and merge the reviewers' answers.

* :mod:`.tasks` picks the reports and builds their tasks (:func:`build_tasks`, :func:`export_tasks`): the reports
  where the parser disagrees with the gold set, the reports whose parse is flagged, or the reports whose levels
  the grading network grades differently from the report. Each task says why it is there and marks the slots to
  check; its pre-annotation holds the grades and one evidence region per decision.
* :mod:`.server` talks to the server (:class:`Server`, coded errors) and uploads the tasks (:func:`push`).
* :mod:`.merge` merges the answers into the gold set (:func:`pull`: who reviewed each report and when, changed or
  confirmed) or into a levels table for ``grading train`` (:func:`pull_levels`).
"""

from ..lightimport import lazy_exports

#: Default probability the network must give its grade for a disagreement with the report to be reviewed (here,
#: not in :mod:`.tasks`, so that the command line reads it without loading the review code).
MIN_PROBABILITY = 0.8

# the public names are imported on first use (PEP 562), so that the command line (which builds its options from
# :data:`MIN_PROBABILITY`) does not load the task, server and merge code
_EXPORTS = {**dict.fromkeys(["Disagreement", "PullSummary", "Review", "collect_reviews", "pull", "pull_levels",
                             "sidecar_path"], ".merge"),
            **dict.fromkeys(["ENV_API_KEY", "ENV_URL", "PushSummary", "Server", "push"], ".server"),
            **dict.fromkeys(["MARKS_KEY", "MODEL_VERSION", "REASON_KEY", "build_tasks",
                             "export_tasks", "prediction_result", "read_network_grades"], ".tasks")}

__all__ = sorted([*_EXPORTS, "MIN_PROBABILITY"])
__getattr__ = lazy_exports(__name__, _EXPORTS)
