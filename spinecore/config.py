"""The settings base of the toolkit: a typed dataclass that validates itself and round-trips through JSON.

Every package's settings (``reportparse.extract.ExtractConfig``, ``imaging.extract.ExtractConfig``,
``imaging.segment.SegConfig``, ``grading.model.ModelConfig``, ``grading.train.TrainConfig``) subclass
:class:`Config`: fields with defaults, a :meth:`Config.validate` that raises the package's coded error for the
first bad value, and the same :meth:`to_dict` / :meth:`from_dict` / :meth:`from_file`:

* ``to_dict`` gives JSON values (tuples become lists, nested settings dicts);
* ``from_dict`` is its inverse: lists become tuples where the field is a tuple, nested settings are built from
  their dicts, missing keys take their defaults (settings saved by an older version load), and an **unknown key
  is an error** (C010) naming the allowed ones: a misspelt setting never passes silently. Keys that an earlier
  version wrote and this one no longer has are listed in the class's ``retired`` and dropped with a log line,
  so that old files and checkpoints still load. The result is validated.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import CoreError, Errors

__all__ = ["Config"]

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="Config")


@dataclasses.dataclass
class Config:
    """Base of the toolkit's settings dataclasses (see the module documentation)."""

    #: Keys written by earlier versions that this one no longer has: :meth:`from_dict` drops them (logged).
    retired: ClassVar[tuple[str, ...]] = ()

    def validate(self) -> None:
        """Raise the package's coded error for the first invalid field; subclasses with constraints override it."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field (tuples become lists, nested settings dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        """The inverse of :meth:`to_dict`, validated; unknown keys raise C010 (see the module documentation)."""
        d = dict(d)
        for key in sorted(set(cls.retired) & set(d)):
            logger.info("%s: dropped the setting %r, which this version no longer has", cls.__name__, key)
            del d[key]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise CoreError(Errors.C010.format(config=cls.__name__, keys=unknown, allowed=sorted(fields)))
        hints = typing.get_type_hints(cls)
        cfg = cls(**{name: _typed(value, hints[name]) for name, value in d.items()})
        cfg.validate()
        return cfg

    @classmethod
    def from_file(cls: type[C], path: str | os.PathLike, **overrides: Any) -> C:
        """Settings from a JSON file, with ``overrides`` (``None`` ignored) applied on top (C011 when the file is
        not a JSON object)."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise ValueError(f"the file holds a {type(doc).__name__}")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise CoreError(Errors.C011.format(config=cls.__name__, path=path, error=err)) from None
        doc.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(doc)


def _plain(value: Any) -> Any:
    if isinstance(value, Config):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _typed(value: Any, hint: Any) -> Any:
    """``value`` read from JSON as the field's type: a list for a tuple field becomes a tuple, a dict for a
    settings field becomes those settings."""
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for kind in kinds:
        if isinstance(value, list) and (kind is tuple or typing.get_origin(kind) is tuple):
            return tuple(value)
        if isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, Config):
            return kind.from_dict(value)
    return value
