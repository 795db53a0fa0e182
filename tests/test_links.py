"""Link extraction (digest/links/), one test per case of issue 3.

Every text below is written for these tests in the style of the lists' real mail: wrapped by
mail clients, quoted, footnoted, obfuscated and cut by archives.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from digest.links import (extract_from_text, extract_links, is_boilerplate_url, link_kind,
                          normalise_url, repair_truncated)
from digest.model import Link, LinkKind, Message

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def message(text: str, *, html: str | None = None, footer: str = "",
            quoted_text: str = "") -> Message:
    return Message(key="k@example.org", message_id="k@example.org", msgid_hash="H",
                   subject="Test", subject_norm="Test", from_name="", from_addr="", date=None,
                   in_reply_to=None, references=(), lists=(), text=text, new_text=text,
                   quoted_text=quoted_text, signature="", footer=footer, html=html)


def urls(text: str, **kw) -> list[str]:
    return [lk.url for lk in extract_from_text(text, **kw)]


def only(text: str, **kw) -> Link:
    links = extract_from_text(text, **kw)
    assert len(links) == 1, [lk.url for lk in links]
    return links[0]


# --- bare and bracketed URLs, trailing punctuation -----------------------------------------

def test_a_bare_url_in_prose_is_found_with_its_position_and_raw_text():
    text = "Details are at https://meta.wikimedia.org/wiki/Partnerships today"
    lk = only(text)
    assert lk.url == "https://meta.wikimedia.org/wiki/Partnerships"
    assert lk.raw == lk.url
    assert text[lk.position:].startswith(lk.raw)


def test_an_angle_bracketed_url_is_read_without_its_brackets():
    lk = only("The new page <https://diff.wikimedia.org/2024/05/01/a-new-partner/> is up.")
    assert lk.url == "https://diff.wikimedia.org/2024/05/01/a-new-partner/"


@pytest.mark.parametrize("tail", ["", " and so on", "\nthe next line"])
def test_urls_glued_together_by_a_comma_are_two_links(tail):
    text = f"Both: https://a.example.org/x,https://b.example.org/y{tail}"
    assert urls(text) == ["https://a.example.org/x", "https://b.example.org/y"]
    assert urls("A list: https://example.org/a,b,c is one") == ["https://example.org/a,b,c"]


def test_a_glued_url_or_an_entity_on_a_continuation_line_ends_the_url_there_too():
    assert urls("Read https://example.org/long_path_of_a_\nmail_client,https://b.example.org/y"
                ) == ["https://example.org/long_path_of_a_mail_client", "https://b.example.org/y"]
    assert urls("See https://example.org/a_\nb&gt;\n") == ["https://example.org/a_b"]


@pytest.mark.parametrize("tail", ["", " after", "\nnext line"])
def test_html_entities_left_in_a_text_end_the_url(tail):
    assert urls(f"See &lt;https://example.org/page&gt;{tail}") == ["https://example.org/page"]
    assert urls(f"Query https://example.org/?a=1&b=2{tail}") == ["https://example.org/?a=1&b=2"]


@pytest.mark.parametrize("mark", list(".,;:!?'\"»*"))
def test_trailing_punctuation_is_not_part_of_the_url(mark):
    assert urls(f"Read https://example.org/report{mark} then reply") == [
        "https://example.org/report"]


def test_an_unbalanced_closing_bracket_is_trimmed_but_balanced_parentheses_stay():
    assert urls("(see https://example.org/page)") == ["https://example.org/page"]
    assert urls("[see https://example.org/page]") == ["https://example.org/page"]
    assert urls("The article https://en.wikipedia.org/wiki/Foo_(bar) explains") == [
        "https://en.wikipedia.org/wiki/Foo_(bar)"]
    assert urls("(as in https://en.wikipedia.org/wiki/Foo_(bar)).") == [
        "https://en.wikipedia.org/wiki/Foo_(bar)"]


# --- wrapped URLs -------------------------------------------------------------------------

def test_a_url_wrapped_inside_angle_brackets_is_joined():
    text = ("Please read the proposal\n<https://meta.wikimedia.org/wiki/Wikimedia_Foundation/\n"
            "Partnerships/Annual_report_2023> before Friday.")
    lk = only(text)
    assert lk.url == ("https://meta.wikimedia.org/wiki/Wikimedia_Foundation/Partnerships/"
                      "Annual_report_2023")
    assert "\n" in lk.raw


def test_a_url_cut_at_the_wrap_column_without_brackets_is_joined():
    first = "We published the full report of the programme at https://meta.wikimedia.org/"
    text = first + "\nwiki/Programs/Library_partnerships/2023_report and we welcome comments."
    assert len(first) >= 72
    assert urls(text) == [
        "https://meta.wikimedia.org/wiki/Programs/Library_partnerships/2023_report"]


def test_a_url_cut_mid_word_at_the_wrap_column_is_joined_when_the_rest_looks_like_a_path():
    first = "The shared folder is https://docs.google.com/document/d/1aBcD3fGhIjK1mNoP"
    text = first + "\nqRsT_uVwXyZ/edit for everyone who wants to help out."
    assert len(first) >= 72
    assert urls(text) == ["https://docs.google.com/document/d/1aBcD3fGhIjK1mNoPqRsT_uVwXyZ/edit"]


def test_a_wrap_inside_a_percent_escape_and_a_stray_space_before_the_bracket_are_repaired():
    text = ("La page : <https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%\n"
            "C3%A9marche_partenariale/en >\nMerci !")
    lk = only(text)
    assert lk.url == ("https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/"
                      "D%C3%A9marche_partenariale/en")
    assert lk.display == "meta.wikimedia.org/wiki/Wikimédia_France/Démarche_partenariale/en"
    assert not lk.truncated


def test_a_wrap_inside_a_percent_escape_without_brackets_is_joined():
    text = ("Voir https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%\n"
            "C3%A9marche_partenariale/en pour la suite.")
    assert urls(text) == [
        "https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%C3%A9marche_partenariale/en"]


def test_a_host_name_broken_right_after_a_dot_is_joined():
    text = "More on the partnership at https://meta.\nwikimedia.org/wiki/Partnerships soon."
    assert urls(text) == ["https://meta.wikimedia.org/wiki/Partnerships"]


def test_an_indented_continuation_line_is_joined():
    text = ("  Slides: https://commons.wikimedia.org/wiki/File:Partnerships_strategy_\n"
            "      2024_presentation.pdf\n")
    assert urls(text) == [
        "https://commons.wikimedia.org/wiki/File:Partnerships_strategy_2024_presentation.pdf"]


def test_a_continuation_carrying_the_quote_prefix_is_joined_and_marked_quoted():
    text = ("On Monday, Ana wrote:\n"
            "> The announcement is at https://diff.wikimedia.org/2023/10/12/wikimedia-and-\n"
            "> the-national-library-sign-an-agreement/ for all to read.\n\nThanks!")
    lk = only(text)
    assert lk.url == ("https://diff.wikimedia.org/2023/10/12/wikimedia-and-"
                      "the-national-library-sign-an-agreement/")
    assert lk.quoted


def test_a_format_flowed_soft_break_inside_a_url_is_joined():
    text = ("The agreement text: https://foundation.wikimedia.org/wiki/Memorandum_of_ \n"
            "understanding_with_UNESCO \nand the press release follow.")
    assert urls(text)[0] == (
        "https://foundation.wikimedia.org/wiki/Memorandum_of_understanding_with_UNESCO")


def test_an_ordinary_word_on_the_next_line_is_never_glued_to_a_complete_url():
    long_line = "You can find the press release and the frequently asked questions at"
    text = (long_line + "\nhttps://wikimediafoundation.org/news/2023/05/01/partners-announced/\n"
            "supports the claim, and https://meta.wikimedia.org/wiki/Partnerships_and_Resource\n"
            "Development is another page. See also https://www.carare.eu/\nfor details.")
    assert urls(text) == [
        "https://wikimediafoundation.org/news/2023/05/01/partners-announced/",
        "https://meta.wikimedia.org/wiki/Partnerships_and_Resource",
        "https://www.carare.eu/",
    ]


def test_a_following_list_item_or_footnote_is_not_taken_for_a_continuation():
    text = ("1. https://meta.wikimedia.org/wiki/Fundraising_2010/Banner_testing/Statistics\n"
            "2. https://meta.wikimedia.org/wiki/Fundraising_2010/Messages\n"
            "[3] https://meta.wikimedia.org/wiki/Fundraising_2010/Banner_testing/Results_\n"
            "[4] https://example.org/x\n")
    assert urls(text)[:2] == [
        "https://meta.wikimedia.org/wiki/Fundraising_2010/Banner_testing/Statistics",
        "https://meta.wikimedia.org/wiki/Fundraising_2010/Messages"]
    assert len(urls(text)) == 4


# --- footnotes ------------------------------------------------------------------------------

def test_footnote_lists_in_three_styles_keep_their_numbers_and_take_labels_from_markers():
    text = ("We signed an agreement with the national archives[1]. The programme page[2] "
            "lists every partner, and the evaluation report[3] has the figures.\n\n"
            "[1] <https://diff.wikimedia.org/2024/01/15/national-archives/>\n"
            "[2] https://meta.wikimedia.org/wiki/GLAM_partnerships\n"
            "[3]: https://upload.wikimedia.org/wikipedia/commons/a/ab/Report.pdf\n")
    links = extract_from_text(text)
    assert [(lk.ref, lk.label) for lk in links] == [
        (1, "We signed an agreement with the national archives"),
        (2, "The programme page"),
        (3, "the evaluation report"),
    ]
    assert links[2].kind is LinkKind.DOCUMENT


def test_a_numbered_reference_list_counts_as_footnotes_when_the_text_has_markers():
    text = "Start on meta[1] and submit banners[2].\n\n1. http://meta.wikimedia.org/wiki/A\n" \
           "2. http://meta.wikimedia.org/wiki/B\n"
    assert [(lk.ref, lk.label) for lk in extract_from_text(text)] == [
        (1, "Start on meta"), (2, "submit banners")]
    assert extract_from_text("Steps:\n1. http://example.org/a\n")[0].ref is None


# --- spaces, markdown, www., mailto, HTML, quotes --------------------------------------------

def test_spaces_inside_angle_brackets_become_underscores_on_wikis_and_percent_20_elsewhere():
    text = ("Discuss at <https://meta.wikimedia.org/wiki/Talk:Wikimedia Foundation partnership "
            "reflections>\nand <https://example.org/files/annual report.pdf>.")
    assert urls(text) == [
        "https://meta.wikimedia.org/wiki/Talk:Wikimedia_Foundation_partnership_reflections",
        "https://example.org/files/annual%20report.pdf"]


def test_a_wrapped_bracketed_url_with_spaces_keeps_the_space_at_the_line_break():
    text = ("<https://meta.wikimedia.org/wiki/Talk:Wikimedia Foundation\n"
            "partnership reflections>")
    assert urls(text) == [
        "https://meta.wikimedia.org/wiki/Talk:Wikimedia_Foundation_partnership_reflections"]


def test_markdown_links_take_their_text_as_label():
    lk = only("Read [the partnership announcement](https://diff.wikimedia.org/2024/02/02/x/).")
    assert lk.url == "https://diff.wikimedia.org/2024/02/02/x/"
    assert lk.label == "the partnership announcement"


def test_www_links_without_a_scheme_are_found_and_bare_domains_are_not():
    assert urls("Visit www.wikimedia.org.uk/partners for more; about.example.org is not") == [
        "http://www.wikimedia.org.uk/partners"]


def test_mailto_is_kept_as_a_contact_not_a_reference():
    lk = only("Questions: <mailto:partnerships@wikimedia.org>")
    assert lk.kind is LinkKind.CONTACT
    assert lk.url == "mailto:partnerships@wikimedia.org"


def test_html_anchors_give_targets_and_anchor_text_merged_with_text_links():
    text = "Read the announcement https://diff.wikimedia.org/2024/03/03/x/ today."
    html = ('<p>Read <a href="https://diff.wikimedia.org/2024/03/03/x/">the announcement</a> '
            'and <a href="https://meta.wikimedia.org/wiki/Partnerships">our partnerships '
            'page</a>.</p><blockquote><a href="https://example.org/old">old</a></blockquote>')
    links = extract_links(message(text, html=html))
    assert [lk.url for lk in links] == ["https://diff.wikimedia.org/2024/03/03/x/",
                                        "https://meta.wikimedia.org/wiki/Partnerships",
                                        "https://example.org/old"]
    assert links[0].position == text.index("https://")
    assert "the announcement" in links[0].label
    assert links[1].label == "our partnerships page"
    assert links[1].position > len(text)
    assert links[2].quoted and not links[1].quoted


def test_urls_on_quoted_lines_or_in_the_messages_quoted_text_are_marked_quoted():
    text = ("I agree.\n\n> See https://example.org/a for the plan.\n"
            "From: Ana\nSent: Monday\nThe plan: https://example.org/b\n"
            "Mine: https://example.org/c\n")
    quoted = "From: Ana\nSent: Monday\nThe plan: https://example.org/b\n"
    links = extract_links(message(text, quoted_text=quoted))
    assert [(lk.url[-1], lk.quoted) for lk in links] == [("a", True), ("b", True), ("c", False)]


# --- normalisation --------------------------------------------------------------------------

def test_outlook_safelinks_and_google_redirects_are_unwrapped():
    safe = ("https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fdiff.wikimedia.org"
            "%2F2024%2F01%2F01%2Fx%2F&data=05%7C01&sdata=abc&reserved=0")
    google = "https://www.google.com/url?q=https://meta.wikimedia.org/wiki/GLAM&sa=D&ust=1"
    assert urls(f"{safe} and {google}") == ["https://diff.wikimedia.org/2024/01/01/x/",
                                            "https://meta.wikimedia.org/wiki/GLAM"]


def test_tracking_parameters_are_dropped_from_url_but_kept_in_raw():
    written = ("https://example.org/news?id=7&utm_source=newsletter&utm_medium=email"
               "&fbclid=IwAR0&gclid=x1")
    lk = only(f"Story: {written}")
    assert lk.url == "https://example.org/news?id=7"
    assert lk.raw == written
    assert urls("https://example.org/p?utm_campaign=x") == ["https://example.org/p"]


def test_hosts_are_lower_cased_and_idn_hosts_punycoded_in_url_unicode_in_display():
    assert urls("HTTPS://Meta.WikiMedia.ORG/wiki/Main_Page") == [
        "https://meta.wikimedia.org/wiki/Main_Page"]
    lk = only("Partner: https://bücher.example/katalog and more")
    assert lk.url == "https://xn--bcher-kva.example/katalog"
    assert lk.display == "bücher.example/katalog"
    assert normalise_url("https://xn--bcher-kva.example/")[1] == "bücher.example"


def test_duplicates_are_merged_first_position_wins_and_labels_combine():
    text = ("Report: https://example.org/report\n"
            "Summary of results: https://example.org/report\n")
    links = extract_from_text(text)
    assert len(links) == 1
    assert links[0].position == text.index("https://")
    assert links[0].label == "Report / Summary of results"


def test_pipermail_at_obfuscation_inside_a_url_is_restored():
    text = ("Archive: https://lists.wikimedia.org/hyperkitty/list/wikimedia-l at "
            "lists.wikimedia.org/message/ABCDEF/ thanks\n"
            "Toot: https://wikis.world/ at wikimediafoundation today\n"
            "Write to <mailto:partners at wikimedia.org>\n")
    assert urls(text) == [
        "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/message/"
        "ABCDEF/",
        "https://wikis.world/@wikimediafoundation",
        "mailto:partners@wikimedia.org"]
    assert urls("mail us at https://example.org at any time") == ["https://example.org"]


def test_hyperkitty_at_obfuscation_inside_a_url_is_restored():
    assert urls("Thread: https://lists.wikimedia.org/hyperkitty/list/wikimedia-l(a)lists.wikimedia"
                ".org/thread/ABC/ and https://wikis.world/(a)wikimedia") == [
        "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/thread/ABC/",
        "https://wikis.world/@wikimedia"]


# --- truncation -----------------------------------------------------------------------------

def test_truncated_links_are_flagged():
    text = ("Cut: https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%\n\n"
            "Cut too: https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%C\n\n"
            "Ellipsis: https://blog.wikimedia.pt/2019/07/finalistas-do-wiki-loves-earth-2019-em…\n"
            "Dots: https://example.org/a/very/long/path...\n"
            "Whole: https://example.org/whole\n")
    flags = [(lk.truncated, lk.url) for lk in extract_from_text(text)]
    assert [f for f, _ in flags] == [True, True, True, True, False]
    assert flags[2][1].endswith("…")
    assert flags[3][1] == "https://example.org/a/very/long/path"


def test_a_truncated_link_is_repaired_from_another_copy_that_has_it_complete():
    cut = extract_from_text("[2] https://meta.wikimedia.org/wiki/Partnerships/Annual_rep…")
    other_copy = extract_from_text(
        "see https://meta.wikimedia.org/wiki/Partnerships/Annual_report_2023 and "
        "https://meta.wikimedia.org/wiki/Other")
    fixed = repair_truncated(cut, other_copy)
    assert fixed[0].url == "https://meta.wikimedia.org/wiki/Partnerships/Annual_report_2023"
    assert not fixed[0].truncated and fixed[0].ref == 2
    assert fixed[0].title == "Partnerships/Annual report 2023"


def test_a_truncated_link_stays_flagged_when_other_copies_are_ambiguous_or_silent():
    cut = extract_from_text("https://meta.wikimedia.org/wiki/Partnerships/A%")
    ambiguous = extract_from_text("https://meta.wikimedia.org/wiki/Partnerships/A%C3%A9 "
                                  "https://meta.wikimedia.org/wiki/Partnerships/A%20b")
    assert repair_truncated(cut, ambiguous)[0].truncated
    assert repair_truncated(cut, [])[0].truncated


def test_the_html_part_repairs_a_link_the_text_part_cut_off():
    text = "Report: https://example.org/reports/2023/partnerships-ann…\n"
    html = '<a href="https://example.org/reports/2023/partnerships-annual.pdf">Report</a>'
    links = extract_links(message(text, html=html))
    assert [(lk.url, lk.truncated) for lk in links] == [
        ("https://example.org/reports/2023/partnerships-annual.pdf", False)]


# --- boilerplate ----------------------------------------------------------------------------

MM2_FOOTER = (
    "_______________________________________________\n"
    "Wikimedia-l mailing list, guidelines at: https://meta.wikimedia.org/wiki/Mailing_lists/"
    "Guidelines and https://meta.wikimedia.org/wiki/Wikimedia-l\n"
    "New messages to: Wikimedia-l@lists.wikimedia.org\n"
    "Unsubscribe: https://lists.wikimedia.org/mailman/listinfo/wikimedia-l, "
    "<mailto:wikimedia-l-request@lists.wikimedia.org?subject=unsubscribe>\n")
MM3_FOOTER = (
    "_______________________________________________\n"
    "Wikimedia-l mailing list -- wikimedia-l@lists.wikimedia.org\n"
    "Public archives at https://lists.wikimedia.org/hyperkitty/list/"
    "wikimedia-l@lists.wikimedia.org/message/QWERTY/\n"
    "To unsubscribe send an email to wikimedia-l-leave@lists.wikimedia.org\n"
    "List information: https://lists.wikimedia.org/postorius/lists/"
    "wikimedia-l.lists.wikimedia.org/\n")


@pytest.mark.parametrize("footer", [MM2_FOOTER, MM3_FOOTER])
def test_list_footers_are_boilerplate_and_the_body_is_not(footer):
    text = "Our partners: https://meta.wikimedia.org/wiki/Partners\n\n" + footer
    links = extract_from_text(text)
    assert [lk.boilerplate for lk in links] == [False] + [True] * (len(links) - 1)
    assert len(links) >= 3


def test_a_quoted_footer_is_boilerplate_too():
    quoted = "\n".join("> " + ln for ln in MM2_FOOTER.splitlines())
    links = extract_from_text("Agreed.\n\nOn Monday Ana wrote:\n" + quoted)
    assert links and all(lk.boilerplate and lk.quoted for lk in links)


def test_links_of_the_messages_footer_are_boilerplate_even_when_kept_apart_from_the_text():
    links = extract_links(message("Body with https://example.org/body\n", footer=MM3_FOOTER))
    assert [lk.boilerplate for lk in links] == [False, True, True]
    assert all(lk.position > len("Body with https://example.org/body\n") for lk in links[1:])


# --- labels ----------------------------------------------------------------------------------

def test_labels_come_from_an_introducing_line_or_the_text_before_a_colon():
    text = ("*Wikimedia Foundation partnership reflections on Meta:*\n"
            "https://meta.wikimedia.org/wiki/Partnership_reflections\n\n"
            "Support Free Knowledge: https://donate.wikimedia.org\n"
            "The library (https://www.example-library.org/) joins too.\n"
            "Dean of the Institute <https://institute.example.org>\n")
    assert [lk.label for lk in extract_from_text(text)] == [
        "Wikimedia Foundation partnership reflections on Meta",
        "Support Free Knowledge",
        "The library",
        "Dean of the Institute"]


# --- safety ---------------------------------------------------------------------------------

def test_a_megabyte_of_punctuation_and_a_huge_url_are_handled():
    assert extract_from_text("!.,:;)(<>[]" * 100_000) == []
    assert extract_from_text("<" * 500_000 + "https://x.org/" + ">" * 500_000)[0].url == (
        "https://x.org/")
    long_path = "a/" * 25_000
    assert urls(f"see https://example.org/{long_path} ok") == [
        f"https://example.org/{long_path}"]
    assert len(urls("https://example.org/" + ")" * 200_000)) == 1
    assert urls("<https://x.org/a " * 20_000) == ["https://x.org/a"]
    assert urls(">" * 500_000 + " https://x.org/a" * 2_000) == ["https://x.org/a"]


# --- real archives --------------------------------------------------------------------------

def _messages_in(path: Path):
    """Raw messages of a fixture file with stdlib-only splitting (mbox or a single message)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if data.startswith(b"From "):
        return [b"From " + chunk for chunk in re.split(rb"(?m)^From ", data) if chunk]
    return [data]


def test_every_message_of_every_shared_fixture_extracts_without_an_exception():
    root = SHARED / "fixtures"
    if not root.is_dir():
        pytest.skip(f"shared fixtures not found at {root}")
    from digest.parse import parse_message
    from digest.model import SourceHints

    seen = links_seen = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md"):
        for raw in _messages_in(path):
            if path.suffix == ".html":
                msg = message(raw.decode("utf-8", "replace"), html=raw.decode("utf-8", "replace"))
            else:
                msg = parse_message(raw, SourceHints(source=str(path)))
            for lk in extract_links(msg):
                assert lk.url.startswith(("http://", "https://", "ftp://", "ftps://", "mailto:"))
                assert "\n" not in lk.url and " " not in lk.url
                links_seen += 1
            seen += 1
    assert seen > 50 and links_seen > 50


def test_the_cli_prints_one_json_object_per_message(capsys, tmp_path):
    from digest.cli import main

    mbox = tmp_path / "two.mbox"
    mbox.write_text(
        "From a@example.org Mon Jan  1 00:00:00 2024\n"
        "From: Ana <a@example.org>\nSubject: Partnership with the archives\n"
        "Message-ID: <one@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
        "The agreement: https://meta.wikimedia.org/wiki/Archives_partnership\n\n"
        "From b@example.org Tue Jan  2 00:00:00 2024\n"
        "From: Bo <b@example.org>\nSubject: Re: Partnership with the archives\n"
        "Message-ID: <two@example.org>\nDate: Tue, 2 Jan 2024 00:00:00 +0000\n\n"
        "No links here.\n", encoding="utf-8")
    assert main(["links", str(mbox), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["message_id"] for x in lines] == ["one@example.org", "two@example.org"]
    first = lines[0]["links"][0]
    assert first["url"] == "https://meta.wikimedia.org/wiki/Archives_partnership"
    assert first["kind"] == "wiki" and first["label"] == "The agreement"
    assert set(first) == {"url", "display", "label", "ref", "kind", "boilerplate", "quoted",
                          "truncated"}
    assert main(["links", str(mbox)]) == 0
    text = capsys.readouterr().out
    assert "Partnership with the archives" in text and "1. https://meta" in text


# --- the hand-written hard cases (also scored by bench/links_eval.py) -------------------------

HARD_CASES = json.loads((FIXTURES / "links_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", HARD_CASES, ids=[c["name"] for c in HARD_CASES])
def test_hard_cases_give_exactly_the_expected_web_links_in_order(case):
    found = [lk.url for lk in extract_from_text(case["body"]) if lk.url.startswith("http")]
    assert found == case["links"]


def test_a_rule_line_after_a_url_is_not_a_continuation():
    text = ("> See https://www.docker.com/\n> _______________________________________________\n"
            "> Some-list mailing list\n")
    assert urls(text) == ["https://www.docker.com/"]


def test_html_made_from_wrapped_text_does_not_add_half_urls_or_closing_brackets():
    text = ("Plan: https://meta.wikimedia.org/wiki/Wikimedia_Foundation_Annual_Plan/2024-2025/\n"
            "Goals\n[1] <https://phabricator.wikimedia.org/T1234>\n")
    html = ('<p>Plan: <a href="https://meta.wikimedia.org/wiki/Wikimedia_Foundation_Annual_Plan/'
            '2024-2025/">https://meta.wikimedia.org/wiki/Wikimedia_Foundation_Annual_Plan/'
            '2024-2025/</a><br>Goals<br>[1] &lt;<a href="https://phabricator.wikimedia.org/T1234'
            '&gt;">https://phabricator.wikimedia.org/T1234&gt;</a></p>')
    assert [lk.url for lk in extract_links(message(text, html=html))] == [
        "https://meta.wikimedia.org/wiki/Wikimedia_Foundation_Annual_Plan/2024-2025/Goals",
        "https://phabricator.wikimedia.org/T1234"]


def test_abbreviations_ordinals_and_short_words_after_a_long_url_line_stay_prose():
    head = "The minutes of the partnership committee meeting: https://meta.wikimedia.org/wiki/Foo"
    assert len(head) >= 72
    for follow in ("e.g. the budget", "2nd round", "10am call", "i.e. later", "Partners met"):
        assert urls(f"{head}\n{follow}\n") == ["https://meta.wikimedia.org/wiki/Foo"], follow


def test_anchors_without_href_are_ignored_and_unreadable_ones_go_through_beautifulsoup():
    long_url = "https://example.org/" + "p" * 9000
    html = (f'<a name="top"></a><p><a href="https://example.org/a">First</a> and '
            f'<a href="{long_url}">Second</a></p>')
    links = extract_links(message("", html=html))
    assert [(lk.url, lk.label) for lk in links] == [("https://example.org/a", "First"),
                                                   (long_url, "Second")]


def test_a_footnote_marker_alone_on_its_line_numbers_the_url_below_it():
    text = ("The blog post has more background here:[3]\n\n"
            "[3]\n<https://blog.wikimedia.org/2017/05/16/free-access/?utm_source=\n"
            "announce&utm_medium=email>\n")
    lk = only(text)
    assert (lk.ref, lk.label) == (3, "The blog post has more background")
    assert lk.url == "https://blog.wikimedia.org/2017/05/16/free-access/"


def test_the_cli_reports_a_missing_archive_in_one_line(capsys, tmp_path):
    from digest.cli import main

    assert main(["links", str(tmp_path / "missing.mbox")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.mbox" in err[0]


def test_an_angle_bracket_never_closed_before_a_blank_line_marks_a_cut_off_link():
    text = "> [2] <http://blog.wikimedia.org/2006/12/04/results-of-the-ele\n\nHello\n"
    lk = only(text)
    assert lk.truncated and lk.ref == 2
    assert not only("See <https://example.org/a> now\n\n").truncated


def test_a_label_drops_the_words_that_only_join_it_to_the_sentence() -> None:
    text = ("The partner's page is on Meta [1], and the blog post with more background is "
            "here [2]. See here [3].\n\n"
            "[1] https://meta.wikimedia.org/wiki/Partner\n[2] https://diff.wikimedia.org/p\n"
            "[3] https://example.org/x\n")
    labels = {lk.ref: lk.label for lk in extract_from_text(text)}
    assert labels[2] == "the blog post with more background"
    assert labels[3] == ""


# --- the package's interface ------------------------------------------------------------------

def test_the_package_exports_the_stage_interface_from_its_modules():
    import digest.links
    from digest.links import kinds, repair, urls

    assert (is_boilerplate_url, link_kind) == (kinds.is_boilerplate_url, kinds.link_kind)
    assert (normalise_url, repair_truncated) == (urls.normalise_url, repair.repair_truncated)
    assert digest.links.truncation_stem is repair.truncation_stem
    assert all(callable(getattr(digest.links, name)) for name in digest.links.__all__)


def test_a_message_keeps_at_most_max_links_text_and_html_part_together():
    """A pathological message would cost a Link object per URL: it keeps the first ones."""
    from digest.links.extract import MAX_LINKS

    text = " ".join(f"https://example.org/t{i}" for i in range(MAX_LINKS + 5))
    assert len(urls(text)) == MAX_LINKS
    few = "https://example.org/a https://example.org/b"
    html = "".join(f'<a href="https://example.org/h{i}">{i}</a>' for i in range(MAX_LINKS + 5))
    found = urls(few, html=html)
    assert len(found) == MAX_LINKS
    assert found[:3] == ["https://example.org/a", "https://example.org/b",
                         "https://example.org/h0"]
