"""Command-line flags made from config dataclasses: the dataclass holds each default once, its ``# comment`` is
the help text, and argparse types carry the range checks (refused before anything starts).

    g = ap.add_argument_group("recognition")
    add_fields(g, RecognizerConfig, types={"stride": positive_int}, flags={"window_seconds": "--window"})
    config = from_args(RecognizerConfig, ap.parse_args())
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import re
import typing


def field_comments(cls) -> dict[str, str]:
    """The ``# comment`` after each field in a config dataclass's source: the CLI's help text."""
    try:
        src = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    return dict(re.findall(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$", src, re.M))


def field_default(f: dataclasses.Field):
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def add_fields(group, cls, types: dict | None = None, flags: dict | None = None, extra: dict | None = None,
               skip: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> None:
    """One flag per field of ``cls`` (``--field-name``; ``flags`` renames), its default the field's, its help the
    field's comment. A bool field is ``--x/--no-x``. ``types`` gives argparse types (range checks) by field name,
    ``extra`` more ``add_argument`` keywords (help, default, action, metavar...) by field name; ``only`` picks
    fields (in that order), ``skip`` leaves some out."""
    types, flags, extra = types or {}, flags or {}, extra or {}
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for f in [by_name[n] for n in only] if only else dataclasses.fields(cls):
        if f.name in skip:
            continue
        kw = {"dest": f.name, "default": field_default(f), "help": comments.get(f.name, "")}
        if hints[f.name] is bool:  # argparse says the default itself
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = types.get(f.name, hints[f.name] if hints[f.name] in (int, float, str) else str)
        kw.update(extra.get(f.name, {}))
        if kw.get("action") is None and "default" not in kw["help"]:
            kw["help"] += " (default: %(default)s)"
        group.add_argument(flags.get(f.name, "--" + f.name.replace("_", "-")), **kw)


def from_args(cls, args: argparse.Namespace, **given):
    """A ``cls`` from the parsed flags of its fields (fields without a flag keep their defaults; ``given`` wins)."""
    kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**kw, **given})


def number(kind: type, ok, what: str):
    """An argparse type: a finite number of ``kind`` for which ``ok(value)`` holds; else a clear error."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            what_kind = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expects {what_kind}, got {text!r}") from None
        if not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = f"{kind.__name__} {what}"
    return parse


positive_int = number(int, lambda v: v > 0, "an integer > 0")
non_negative_int = number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = number(float, lambda v: v > 0, "a number > 0")
non_negative_float = number(float, lambda v: v >= 0, "a number >= 0")
fraction = number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
# a threshold on the bundle's score: a cosine for most bundles, but what a score is comes from the bundle
# (``Bundle.score_range``), which the app checks once it has loaded it
score = number(float, math.isfinite, "a finite number")
