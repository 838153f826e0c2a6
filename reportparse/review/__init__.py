"""``reportparse review``: send the reports that need a look to Label Studio, and merge the reviewers' answers.

* :mod:`.tasks` picks the reports and builds their tasks (:func:`build_tasks`, :func:`export_tasks`): the reports
  where the parser disagrees with the gold set, the reports whose parse is flagged, or the reports whose levels
  the grading network grades differently from the report. Each task says why it is there and marks the slots to
  check; its pre-annotation holds the grades and one evidence region per decision.
* :mod:`.server` talks to the server (:class:`Server`, coded errors) and uploads the tasks (:func:`push`).
* :mod:`.merge` merges the answers into the gold set (:func:`pull`: who reviewed each report and when, changed or
  confirmed) or into a levels table for ``grading train`` (:func:`pull_levels`).
"""

from .merge import Disagreement, PullSummary, Review, collect_reviews, pull, pull_levels, sidecar_path
from .server import ENV_API_KEY, ENV_URL, PushSummary, Server, push
from .tasks import MARKS_KEY, MIN_PROBABILITY, MODEL_VERSION, REASON_KEY, build_tasks, export_tasks, \
    prediction_result, read_network_grades

__all__ = ["Disagreement", "ENV_API_KEY", "ENV_URL", "MARKS_KEY", "MIN_PROBABILITY", "MODEL_VERSION",
           "PullSummary", "PushSummary", "REASON_KEY", "Review", "Server", "build_tasks", "collect_reviews",
           "export_tasks", "prediction_result", "pull", "pull_levels", "push", "read_network_grades",
           "sidecar_path"]
