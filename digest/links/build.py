"""Link objects built without the frozen dataclass's __init__: the same objects, for less.

Every module that makes or copies a Link at extraction's rate goes through here, so the
shortcut and the check that keeps it safe live in one place.
"""
from __future__ import annotations

from dataclasses import fields, replace

from ..model import Link, LinkKind

_LINK_FIELDS = tuple(f.name for f in fields(Link))
# A frozen dataclass's __init__ sets each field through object.__setattr__, a sizeable part
# of extraction's cost at tens of thousands of links; filling the instance dict directly
# gives the same object. Only while Link stays a plain frozen dataclass (no slots, no
# __post_init__, fields in this order).
FAST_LINK = (not hasattr(Link, "__slots__") and not hasattr(Link, "__post_init__")
             and _LINK_FIELDS == ("url", "raw", "display", "label", "ref", "position", "kind",
                                  "boilerplate", "quoted", "truncated", "project", "title"))


def copy_with(lk: Link, changes: dict[str, object]) -> Link:
    """replace(lk, **changes), without __init__'s overhead where FAST_LINK allows."""
    if not FAST_LINK:
        return replace(lk, **changes)  # type: ignore[arg-type]
    new = object.__new__(Link)
    object.__setattr__(new, "__dict__", {**lk.__dict__, **changes})
    return new


def link(url: str, raw: str, display: str, label: str, ref: int | None, position: int,
         kind: LinkKind, boilerplate: bool, quoted: bool, truncated: bool,
         project: str | None, title: str | None) -> Link:
    """Link(...) with every field given positionally, built without __init__'s overhead."""
    if not FAST_LINK:
        return Link(url, raw, display, label, ref, position, kind, boilerplate, quoted,
                    truncated, project, title)
    lk = object.__new__(Link)
    object.__setattr__(lk, "__dict__", {
        "url": url, "raw": raw, "display": display, "label": label, "ref": ref,
        "position": position, "kind": kind, "boilerplate": boilerplate, "quoted": quoted,
        "truncated": truncated, "project": project, "title": title})
    return lk
