"""A decoded body -> (new, quoted, signature, footer, scrubbed attachments): attributions in many
languages, top-posted originals, Outlook headers, Mailman footers and pipermail scrubbing notices.
The rules run only on the few marked lines one regex finds; other lines follow the line before."""
from __future__ import annotations

import re

from ..model import Attachment

_NEXT_PART = "-------------- next part --------------"
_SCRUB_START_RE = re.compile(
    r"^(?:An? (?:HTML|non-text|embedded|embedded and charset-unspecified) (?:attachment|message|text)"
    r" was scrubbed\.\.\.|HTML attachment scrubbed and removed|Skipped content of type .*)\s*$")
_SCRUB_FIELD_RE = re.compile(r"^(Name|Type|Size|Desc|URL|From|Subject|Date)\s*:\s*(.*)$",
                             re.IGNORECASE)


def _scrubbed_notice(lines: list[str], start: int) -> tuple[Attachment, int]:
    """Parse a pipermail scrubbing notice from lines[start]; return it and the next index."""
    head = lines[start].strip()
    fields: dict[str, str] = {}
    i = start + 1
    while i < len(lines):
        m = _SCRUB_FIELD_RE.match(lines[i].strip())
        if not m:
            break
        key, val = m.group(1).capitalize(), m.group(2).strip()
        key = "URL" if key == "Url" else key
        if key == "URL" and val in ("", "<"):
            # older Mailman: URL on the following line(s), possibly inside <...>
            j = i + 1
            while j < len(lines) and lines[j].strip() and lines[j].strip() != ">" and not val.endswith(">"):
                val += lines[j].strip()
                j += 1
            if j < len(lines) and lines[j].strip() == ">":
                j += 1
            i = j
        else:
            i += 1
        fields.setdefault(key, val)
    url = fields.get("URL", "").strip().strip("<>").strip() or None
    if "HTML" in head:
        ctype = "text/html"
    elif "embedded message" in head:
        ctype = "message/rfc822"
    elif "charset-unspecified" in head:
        ctype = "text/plain"
    else:
        ctype = fields.get("Type", "application/octet-stream").lower() or "application/octet-stream"
    size_m = re.match(r"(\d+)", fields.get("Size", ""))
    name = fields.get("Name") or (url.rsplit("/", 1)[-1] if url else None)
    return Attachment(name, ctype, int(size_m.group(1)) if size_m else 0, url), i


_ATTRIBUTION_RE = re.compile(
    r"(?:\bwrote|\bwrites|a écrit|schrieb|escribió|escreveu|ha scritto|schreef|skrev|kirjoitti|"
    r"napisał|написал\w*|написа|yazdı|írta|napsal|έγραψε|כתב|كتب|写道)\s*:\s*$"
    r"|\b(?:schrieb|skrev|schreef)\b.{0,100}:\s*$", re.IGNORECASE)
_ATTRIBUTION_START_RE = re.compile(
    r"^\s*(?:On|Le|Am|El|Em|Il|Op|Den|Dnia|W dniu|Quoting|Citando|Zitat|В|Dne)\b", re.IGNORECASE)
_ORIGINAL_RE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Original-Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale|Oorspronkelijk bericht|Ursprüngliche Nachricht|Opprinnelig melding|"
    r"Alkuperäinen viesti|Wiadomość oryginalna)\s*-{2,}|_{20,}\s*)$", re.IGNORECASE)
_OUTLOOK_SENDER = r"\*?(?:From|Von|De|Da|Van|Fra)\*?:"   # _MARK_RE marks these lines too
_OUTLOOK_FROM_RE = re.compile(rf"^\s*{_OUTLOOK_SENDER}\s+\S")
# Outlook's reply header says "Sent:"; forwards from other clients say "Date:" and stay new text
_OUTLOOK_SENT_RE = re.compile(
    r"^\s*\*?(?:Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt)\*?:")
_FOOTER_WORDS_RE = re.compile(
    r"mailing list|listinfo|unsubscribe|postorius|list information|lists\.|guidelines at|"
    r"new messages to|mailman", re.IGNORECASE)


def _is_quote(line: str) -> bool:
    return line.lstrip()[:1] == ">"


def _is_footer_start(lines: list[str], i: int) -> bool:
    s = lines[i].strip().lstrip("> ").strip()
    if len(s) < 20 or s.strip("_"):
        return False
    for j in range(i + 1, min(i + 5, len(lines))):
        if _FOOTER_WORDS_RE.search(lines[j]):
            return True
    return False


def _is_attribution(lines: list[str], i: int) -> tuple[int, bool]:
    """(number of lines 1-3 of an attribution like "On ... wrote:" starting at i, or 0;
    whether quoted lines follow it).

    A wrapped attribution must start with a known opening word, so prose ending in "wrote:"
    stays new text.
    """
    n = len(lines)
    for span in (1, 2, 3):
        end = i + span
        if end > n:
            return 0, False
        last = lines[end - 1]
        if span > 1 and (not last.strip() or _is_quote(last)):
            return 0, False
        if len(last) < 400 and _ATTRIBUTION_RE.search(last):
            if span > 1 and not _ATTRIBUTION_START_RE.match(lines[i]):
                return 0, False
            k = end
            while k < n and not lines[k].strip():
                k += 1
            return span, k >= n or _is_quote(lines[k])
    return 0, False


def _is_strong_attribution(lines: list[str]) -> bool:
    """"On 15 April 2014 20:50, Erik <e@x> wrote:": an opening word plus a date or address,
    enough to take what follows as an unmarked quote (archives that dropped the ">")."""
    text = " ".join(lines)
    return bool(_ATTRIBUTION_START_RE.match(text)) and (
        any(c.isdigit() for c in text) or "@" in text or " at " in text)


# A superset of the lines split_body's rules look at: quote marks, dashes and underscores
# (signatures, footers, "Original Message"), scrubbing notices, Outlook reply headers, and lines
# ending in ":" (attributions, which may start two lines earlier). Every other line goes where
# the line before it went, and a run of quoted lines goes to the quote whatever came before,
# so the rules run on a few lines per message instead of on all of them. Each alternative starts
# with one of three characters, which lets the regex skip the rest of the text quickly.
_MARK_RE = re.compile(
    r"\n(?:(?P<q>[^\S\n]*>[^\n]*(?:\n[^\S\n]*>[^\n]*)*)"
    r"|[^\S\n]*(?:[-_]|(?=" + _OUTLOOK_SENDER + r"))|An? |HTML attachment|Skipped content)"
    r"|:[^\S\n]*(?=\n|\Z)|" + re.escape(_NEXT_PART))


def _marked_lines(text: str) -> tuple[list[int], dict[int, int]]:
    """(sorted numbers of the lines split_body must look at, {first: end} of runs of quoted
    lines). A colon in a quoted line never matters: an attribution cannot end in a quote."""
    text = "\n" + text  # every line, the first too, starts after a newline
    marked: list[int] = []
    runs: dict[int, int] = {}
    newlines, pos = 0, 0   # newlines before pos
    count = text.count
    for m in _MARK_RE.finditer(text):
        start = m.start()
        newlines += count("\n", pos, start)
        pos = start
        first = text[start]
        if m.lastgroup == "q":
            end = m.end()
            lines = count("\n", start, end)
            marked.append(newlines)
            if _NEXT_PART in text[start:end]:   # a quoted "next part" line: look at each one
                marked.extend(range(newlines + 1, newlines + lines))
            else:
                runs[newlines] = newlines + lines
        elif first == "\n":
            marked.append(newlines)
        elif first == ":":
            marked.extend(range(max(0, newlines - 3), newlines))
        else:
            marked.append(newlines - 1)
    if len(marked) > 1:
        marked = sorted(set(marked))
    return marked, runs


def split_body(text: str) -> tuple[str, str, str, str, list[Attachment]]:
    """(new, quoted, signature, footer, scrubbed attachments) of a decoded body.

    Footers are Mailman list footers (also quoted ones go to quoted); pipermail scrubbing
    notices go to footer too, as archive boilerplate, and are returned as attachments.
    """
    lines = text.split("\n")
    new: list[str] = []
    quoted: list[str] = []
    sig: list[str] = []
    footer: list[str] = []
    scrubbed: list[Attachment] = []
    in_sig = False
    rest_quoted = False
    n = len(lines)
    i = 0
    marked, runs = _marked_lines(text)
    k = 0
    while i < n:
        # lines no rule below could act on go, in one run, where the last blank line would
        while k < len(marked) and marked[k] < i:
            k += 1
        stop = marked[k] if k < len(marked) else n
        if stop > i:
            (quoted if rest_quoted else sig if in_sig else new).extend(lines[i:stop])
            i = stop
            continue
        if i in runs:
            quoted.extend(lines[i:runs[i]])
            i = runs[i]
            continue
        line = lines[i]
        first = line[:1]
        stripped = line.strip()
        if not stripped:
            (quoted if rest_quoted else sig if in_sig else new).append(line)
            i += 1
            continue
        if _NEXT_PART in line and (first == "-" or stripped.endswith(_NEXT_PART)):
            # "Skipped content of type ...-------------- next part ---..." shares one line
            in_sig = False
            footer.append(line)
            i += 1
            if i < n and _SCRUB_START_RE.match(lines[i].strip()):
                start = i
                att, i = _scrubbed_notice(lines, i)
                scrubbed.append(att)
                footer.extend(lines[start:i])
            # text after a next-part line is another (scrubbed) part: keep reading normally
            in_sig = False
            continue
        if (first == "A" or first == "H" or first == "S") and _SCRUB_START_RE.match(stripped):
            start = i
            att, i = _scrubbed_notice(lines, i)
            if att.url or i > start + 1:
                scrubbed.append(att)
                footer.extend(lines[start:i])
                continue
            i = start
        if stripped[0] == ">":
            quoted.append(line)
            i += 1
            continue
        if stripped[:1] in "-_" and _ORIGINAL_RE.match(line) and not rest_quoted and (
                stripped[0] == "-" or (i + 1 < n and _OUTLOOK_FROM_RE.match(lines[i + 1]))):
            # top-posted reply: the original below is quoted
            rest_quoted = True
            quoted.append(line)
            i += 1
            continue
        if stripped[:1] == "_" and _is_footer_start(lines, i):
            while i < n and lines[i].strip():
                footer.append(lines[i])
                i += 1
            continue
        if rest_quoted:
            quoted.append(line)
            i += 1
            continue
        if _OUTLOOK_FROM_RE.match(line) and i + 1 < n and _OUTLOOK_SENT_RE.match(lines[i + 1]):
            rest_quoted = True
            quoted.append(line)
            i += 1
            continue
        span, quotes_follow = _is_attribution(lines, i) if (stripped[-1:] == ":" or (
            i + 1 < n and lines[i + 1].rstrip()[-1:] == ":") or (
            i + 2 < n and lines[i + 2].rstrip()[-1:] == ":")) else (0, False)
        if span and (quotes_follow or _is_strong_attribution(lines[i:i + span])):
            # followed by "> " lines: a quote; else a top-posted reply whose quote lost its ">"
            rest_quoted = rest_quoted or not quotes_follow
            quoted.extend(lines[i:i + span])
            i += span
            continue
        if first == "-" and (stripped == "--" and line.rstrip("\r") in ("--", "-- ")):
            in_sig = True
            sig.append(line)
            i += 1
            continue
        (sig if in_sig else new).append(line)
        i += 1
    # all of it new (most mail): the text itself, not a copy, so that a message's text and
    # new text are one string in memory and in the pickles between ingest's processes
    new_text = text.strip("\n") if len(new) == n else "\n".join(new).strip("\n")
    return (new_text, "\n".join(quoted).strip("\n"), "\n".join(sig).strip("\n"),
            "\n".join(footer).strip("\n"), scrubbed)
