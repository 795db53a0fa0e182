"""One link per URL (merge), and cut links completed from another copy (repair_truncated).

Archives cut long URLs; the HTML part, another list's copy or the thread often has the
whole URL. The store uses truncation_stem to fetch only the links that could complete one.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..model import Link
from .build import copy_with
from .trim import PARTIAL_ESCAPE


def merge(links: list[Link]) -> list[Link]:
    """One link per URL: first position wins, labels combined, flags from every sighting."""
    by_url: dict[str, int] = {}
    out: list[Link] = []
    for lk in links:  # already in position order: extra sources come after the text
        key = lk.url
        if key[:7] == "mailto:":
            key = key.lower()
        at = by_url.get(key)
        if at is None:
            by_url[key] = len(out)
            out.append(lk)
            continue
        first = out[at]
        label = first.label
        if lk.label and lk.label not in label:
            label = f"{label} / {lk.label}" if label else lk.label
        ref = first.ref if first.ref is not None else lk.ref
        boiler = first.boilerplate and lk.boilerplate
        quoted = first.quoted and lk.quoted
        if (label, ref, boiler, quoted) != (first.label, first.ref, first.boilerplate,
                                            first.quoted):
            out[at] = copy_with(first, {"label": label, "ref": ref, "boilerplate": boiler,
                                        "quoted": quoted})
    return out


def truncation_stem(url: str) -> str:
    """A truncated URL without its cut marker: what a complete copy must start with (the store
    uses it to fetch only the candidates that could complete a link)."""
    if url.endswith("…"):
        return url[:-1]
    if url.endswith("..."):
        return url[:-3]
    return PARTIAL_ESCAPE.sub("", url)


def repair_truncated(links: Sequence[Link], others: Iterable[Link]) -> tuple[Link, ...]:
    """Replace each truncated link by the one complete link among `others` that extends it.

    `others` are links from another copy of the message or thread. A stem that several
    different complete URLs extend is ambiguous and stays flagged, unless one of them carries
    the same footnote number.
    """
    if not any(lk.truncated for lk in links):
        return tuple(links)
    complete = sorted({o.url: o for o in others if not o.truncated}.items())
    keys = [k for k, _ in complete]
    out: list[Link] = []
    for lk in links:
        if not lk.truncated:
            out.append(lk)
            continue
        stem = truncation_stem(lk.url)
        i = bisect_left(keys, stem)
        cands = []
        while i < len(keys) and keys[i].startswith(stem) and len(cands) < 50:
            if len(keys[i]) > len(stem):
                cands.append(complete[i][1])
            i += 1
        if len(cands) > 1 and lk.ref is not None:
            same = [c for c in cands if c.ref == lk.ref]
            cands = same if len(same) == 1 else cands
        if len(cands) != 1 or len(stem) < 10:
            out.append(lk)
            continue
        best = cands[0]
        out.append(replace(lk, url=best.url, display=best.display, truncated=False,
                           kind=best.kind, project=best.project, title=best.title,
                           label=lk.label or best.label))
    return tuple(out)
