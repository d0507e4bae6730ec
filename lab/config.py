"""One home for hyperparameters: frozen dataclasses built from plain dicts.

Every experiment and the trainer declare their settings as a frozen dataclass
with the unit of each field in a comment. `from_dict` refuses unknown keys so a
typo in a config never silently falls back to a default.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config dict that does not fit its dataclass; `path` names the offending key
    (("compute", "jobs") for a nested one), so an author's file can be cited by line."""

    def __init__(self, message: str, path: tuple[str, ...] = ()):
        super().__init__(message)
        self.path = tuple(path)


def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass `cls` from `data`; unknown keys raise ConfigError."""
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        place = f" in {where}" if where else ""
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} for {cls.__name__}{place}; "
            f"known: {', '.join(sorted(fields))}", (str(unknown[0]),)
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        hint = hints.get(name)
        if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            try:
                value = from_dict(hint, value, f"{where} {name}".strip())
            except ConfigError as e:
                raise ConfigError(str(e), (name, *e.path)) from None
        elif isinstance(value, list):
            value = tuple(value)  # frozen configs hold tuples, JSON gives lists
        kwargs[name] = value
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, JSON-able dict of a config dataclass (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in sorted(v.items())}
        return v

    return plain(cfg)


def replace(cfg: T, **changes: Any) -> T:
    """dataclasses.replace that also refuses unknown keys."""
    return from_dict(type(cfg), {**to_dict(cfg), **changes})
