"""Plumbing shared by the toolkit's packages (``imaging``, ``grading``). Bottom level: imports none of them."""
