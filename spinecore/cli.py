"""The toolkit's Typer application: every coded error a command lets escape ends as one line and exit status 2."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

import typer
from rich.console import Console

__all__ = ["CodedErrorApp", "is_coded"]

_CODE = re.compile(r"^[A-Z]\d{3}$")


def is_coded(err: BaseException) -> bool:
    """Whether ``err`` is one of the toolkit's coded errors (a ``code`` such as ``'I001'`` or ``'G106'``)."""
    return isinstance(getattr(err, "code", None), str) and bool(_CODE.match(err.code))


class CodedErrorApp(typer.Typer):
    """A ``typer.Typer`` whose commands report a coded error as ``error: [CODE] message`` on stderr (one line, no
    traceback) and exit with status 2; any other exception still shows its traceback (a bug to report)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(func)
            def run(*a: Any, **kw: Any) -> Any:
                try:
                    return func(*a, **kw)
                except Exception as err:
                    if not is_coded(err):
                        raise
                    Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
                    raise typer.Exit(code=2) from None

            register(run)
            return func

        return decorator
