"""Message -> links: every URL a mail carries, repaired, labelled, numbered and classified.

Digests are built around their reference lists, so this stage must read URLs the way the
lists' real mail writes them: wrapped by mail clients and archives, bracketed, footnoted,
obfuscated by pipermail, cut off by archives, wrapped in tracking redirects. Pure: text in,
`Link`s out; no files, no network. Data flows one way through the roles:

  extract.py   the entry points: text, list footer and HTML part -> merged links
  scan.py      mail text -> links: URL candidates found and read in text order (the hot path)
  wrap.py      one URL's extent: bracketed or bare, joined across wrapped lines
  trim.py      where a URL ends: trailing punctuation, brackets, archives' cut marks
  context.py   per-message facts (quote depth, quoted lines), computed once
  labels.py    footnote numbers and labels from the text around a URL
  urls.py      normalisation: redirects unwrapped, trackers dropped, hosts IDN-encoded
  kinds.py     kind, wiki project and title, boilerplate; url_info, memoised per URL
  anchors.py   links of an HTML part (`<a href>` and anchor text)
  repair.py    one link per URL; cut links completed from another copy
  build.py     Link objects made without the dataclass __init__'s overhead
"""
from __future__ import annotations

from .extract import extract_from_text, extract_links
from .kinds import is_boilerplate_url, link_kind
from .repair import repair_truncated, truncation_stem
from .urls import normalise_url

__all__ = ["extract_links", "extract_from_text", "repair_truncated", "normalise_url",
           "link_kind", "is_boilerplate_url", "truncation_stem"]
