"""digest.parse.body: a decoded body split into new text, quotes, signature and footer."""
from __future__ import annotations

import pytest

from digest.parse.body import split_body


# --- splitting the body ----------------------------------------------------------------------

MAILMAN2_FOOTER = """_______________________________________________
Wikimedia-l mailing list, guidelines at: https://meta.wikimedia.org/wiki/Mailing_lists/Guidelines
New messages to: Wikimedia-l@lists.wikimedia.org
Unsubscribe: https://lists.wikimedia.org/mailman/listinfo/wikimedia-l, <mailto:wikimedia-l-request@lists.wikimedia.org?subject=unsubscribe>"""
MAILMAN3_FOOTER = """_______________________________________________
Wikimedia-l mailing list -- wikimedia-l@lists.wikimedia.org
To unsubscribe send an email to wikimedia-l-leave@lists.wikimedia.org"""


def test_replies_split_into_new_text_quotes_signature_and_footer():
    text = f"""I agree with this.

On Mon, Mar 5, 2012 at 7:29 AM, Nathan <nathan at example.org> wrote:
> The partnership is great.
>> Nested quote.
> {MAILMAN2_FOOTER.splitlines()[0]}
> Wikimedia-l mailing list

And one more point, interleaved.

-- 
Sam Roe
Example Chapter
{MAILMAN2_FOOTER}
"""
    new, quoted, signature, footer, scrubbed = split_body(text)
    assert new == "I agree with this.\n\n\nAnd one more point, interleaved."
    assert quoted.splitlines()[0].startswith("On Mon, Mar 5, 2012")
    assert "> The partnership is great." in quoted and ">> Nested quote." in quoted
    assert "> Wikimedia-l mailing list" in quoted          # a quoted footer belongs to quoted
    assert signature == "-- \nSam Roe\nExample Chapter"
    assert footer == MAILMAN2_FOOTER
    assert scrubbed == []


@pytest.mark.parametrize("attribution", [
    "Le 2 avr. 2015 à 01:26, Pine W <wiki.pine@example.org> a écrit :",
    "Am 02.04.2015 um 01:26 schrieb Pine W:",
    "El jue., 2 abr. 2015 a las 1:26, Pine W (<p@example.org>) escribió:",
    "On Tue, Apr 15, 2014 at 1:27 PM, David Gerard <dgerard@example.com>\nwrote:",
])
def test_attributions_in_several_languages_belong_to_the_quote(attribution):
    new, quoted, *_ = split_body(f"Reply text.\n\n{attribution}\n> quoted words\n")
    assert new == "Reply text."
    assert quoted == f"{attribution}\n> quoted words"


def test_prose_ending_in_wrote_stays_new_text_when_no_quote_follows():
    text = "Here is what the committee wrote:\n\nThe programme continues in 2024."
    new, quoted, *_ = split_body(text)
    assert new == text and quoted == ""


def test_top_posted_replies_quote_everything_after_the_original_message_marker():
    text = """Thanks, sounds good.

-----Original Message-----
From: Jane Doe [mailto:jane@example.org]
Sent: Monday, March 5, 2012 7:29 AM
Subject: Partnership

The partnership is great.
"""
    new, quoted, *_ = split_body(text)
    assert new == "Thanks, sounds good."
    assert quoted.startswith("-----Original Message-----") and "The partnership is great." in quoted


def test_outlook_header_blocks_start_a_quote():
    text = """Top reply.

________________________________
From: Jane Doe <jane@example.org>
Sent: Monday, March 5, 2012 7:29 AM
To: wikimedia-l@lists.wikimedia.org

Original text.
"""
    new, quoted, _, footer, _ = split_body(text)
    assert new == "Top reply." and "Original text." in quoted and footer == ""


def test_mailman3_footers_and_footers_before_scrubbed_parts_are_recognised():
    text = f"New text.\n{MAILMAN3_FOOTER}\n"
    new, _, _, footer, _ = split_body(text)
    assert (new, footer) == ("New text.", MAILMAN3_FOOTER)


def test_forwarded_content_is_new_text_not_a_quote():
    text = ("FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Partner "
            "<p@museum.example.org>\nDate: Mon, Mar 5, 2012 at 7:29 AM\nSubject: Partnership\n"
            "To: <jane@example.org>\n\nThe museum joins.\n")
    new, quoted, *_ = split_body(text)
    assert "The museum joins." in new and quoted == ""


def test_a_dated_attribution_without_quote_marks_quotes_the_rest_of_a_top_posted_reply():
    text = ("I support this.\nBest, Kevin\nOn 15 April 2014 20:50, Erik <erik@example.org> wrote:\n"
            "I'd be interested in broader opinions.\nOn Monday, someone else wrote:\nMore.\n")
    new, quoted, *_ = split_body(text)
    assert new == "I support this.\nBest, Kevin"
    assert quoted.startswith("On 15 April 2014") and quoted.endswith("More.")


def test_looking_only_at_marked_lines_splits_as_looking_at_every_line(monkeypatch):
    """split_body runs its rules only on the lines _marked_lines picks: that must be a
    superset of the lines any rule acts on, or a rule silently stops working."""
    from pathlib import Path

    from digest.parse import body, parse_message
    from digest.sources.local import read_path

    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "archives").iterdir()),
             *sorted(p for p in (root / "tests" / "fixtures").rglob("*")
                     if p.is_file() and p.suffix in (".mbox", ".txt", ".gz", ".eml"))]
    texts = [MAILMAN2_FOOTER, MAILMAN3_FOOTER,
             "Hi all,\nsee below.\n\n*From:* Ann <a@x.org>\n*Sent:* Monday\nOld text\n",
             "Thanks!\n\nVon: Bob <b@x.org>\nGesendet: Montag\n> quoted\nmore\n",
             "Hello\n-------------- next part --------------\nAn HTML attachment was scrubbed...\n"
             "URL: <https://lists.example.org/attachment.html>\n",
             "Text\nOn Mon, 1 May 2017, Ann <a@x.org>\nwrote:\n> old\n-- \nSig\n"]
    for path in files:
        texts += [parse_message(*item).text for item in read_path(path)
                  if not hasattr(item, "kind")]
    assert len(texts) > 60
    marked = [split_body(text) for text in texts]
    monkeypatch.setattr(body, "_marked_lines",
                        lambda text: (list(range(text.count("\n") + 1)), {}))
    assert [split_body(text) for text in texts] == marked
