"""``python -m grading`` (also what ``torchrun -m grading train ...`` starts on every rank)."""

from .cli import app

app.entry_point()
