"""What a URL points at (digest/links/kinds.py): kinds, wiki projects and titles, boilerplate."""
from __future__ import annotations

import pytest

from digest.links.kinds import is_boilerplate_url, link_kind
from digest.model import LinkKind


def test_list_machinery_and_scrubbed_attachments_are_boilerplate_by_url():
    assert is_boilerplate_url("https://lists.wikimedia.org/mailman/listinfo/wikimedia-l")
    assert is_boilerplate_url(
        "https://lists.wikimedia.org/postorius/lists/wikimedia-l.lists.wikimedia.org/")
    assert is_boilerplate_url("https://meta.wikimedia.org/wiki/Mailing_lists/Guidelines")
    assert is_boilerplate_url(
        "https://lists.wikimedia.org/pipermail/wikimedia-l/attachments/20120403/1a2b3c4d/"
        "attachment.pdf")
    assert is_boilerplate_url(
        "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/message/"
        "ABC/attachment/2/report.pdf")
    assert is_boilerplate_url("mailto:wikimedia-l-request@lists.wikimedia.org?subject=unsubscribe")
    assert not is_boilerplate_url("https://lists.wikimedia.org/pipermail/wikimedia-l/2012-April/"
                                  "119530.html")
    assert not is_boilerplate_url("https://meta.wikimedia.org/wiki/Partnerships")



@pytest.mark.parametrize("url, kind, project, title", [
    ("https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/Partenariats", LinkKind.WIKI,
     "meta.wikimedia", "Wikimédia France/Partenariats"),
    ("https://en.m.wikipedia.org/wiki/Wikipedia_Zero", LinkKind.WIKI, "en.wikipedia",
     "Wikipedia Zero"),
    ("https://commons.wikimedia.org/wiki/File:Logo.svg", LinkKind.WIKI, "commons.wikimedia",
     "File:Logo.svg"),
    ("https://www.wikidata.org/wiki/Q42", LinkKind.WIKI, "wikidata", "Q42"),
    ("https://en.wikipedia.org/w/index.php?title=Special:Search&x=1", LinkKind.WIKI,
     "en.wikipedia", "Special:Search"),
    ("https://diff.wikimedia.org/2024/01/01/x/", LinkKind.BLOG, None, None),
    ("https://phabricator.wikimedia.org/T12345", LinkKind.PHABRICATOR, None, None),
    ("https://lists.wikimedia.org/pipermail/wikimedia-l/2012-April/119530.html",
     LinkKind.MAILING_LIST, None, None),
    ("https://twitter.com/Wikimedia", LinkKind.SOCIAL, None, None),
    ("https://docs.google.com/document/d/abc/edit", LinkKind.DOCUMENT, None, None),
    ("https://example.org/annual.pdf", LinkKind.DOCUMENT, None, None),
    ("https://www.carare.eu/", LinkKind.OTHER, None, None),
])
def test_kinds_and_wiki_projects_and_titles(url, kind, project, title):
    assert link_kind(url) == (kind, project, title)
