"""digest.parse reads MIME with a small reader of its own (parse/mime.py), for speed
(docs/architecture.md). This keeps it honest: on generated mail of every shape the lists carry
(multipart/alternative, attachments, signed mail, base64 and quoted-printable, four charsets,
format=flowed), the text and the attachments it finds are the ones the standard library's `email`
package finds."""
from __future__ import annotations

import email
import mailbox
import re
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from digest.parse import parse_message

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAKE_CORPUS = SHARED / "bench" / "make_corpus.py"
_NOISE = re.compile(r"[\s>]+")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if not MAKE_CORPUS.exists():
        pytest.skip(f"{MAKE_CORPUS} not found: the shared corpus generator is absent")
    path = tmp_path_factory.mktemp("corpus") / "mail.mbox"
    subprocess.run([sys.executable, str(MAKE_CORPUS), "--messages", "400", "--seed", "7",
                    "--mbox", str(path)], check=True, capture_output=True)
    return path


def stdlib_view(raw: bytes) -> tuple[str, list[str]]:
    """The inline text/plain parts joined, and the file names of the other leaf parts."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    texts, names = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if part.get_content_type() == "text/plain" and disposition != "attachment":
            texts.append(part.get_content())
        elif part.get_filename():
            names.append(part.get_filename())
    return "\n".join(texts), sorted(names)


def squeeze(text: str) -> str:
    return _NOISE.sub("", text)


def undeclared_utf8(text: str) -> str:
    """What the text reads as when its bytes were UTF-8 declared as Latin-1/windows-1252: parse
    reads such parts as UTF-8 on purpose, where the standard library gives mojibake."""
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
    return text


def test_text_and_attachments_agree_with_the_standard_library(corpus):
    checked = 0
    for raw_message in mailbox.mbox(str(corpus)):
        raw = raw_message.as_bytes()
        text, names = stdlib_view(raw)
        ours = parse_message(raw)
        assert squeeze(ours.text) in (squeeze(text), squeeze(undeclared_utf8(text))), ours.subject
        assert sorted(a.filename for a in ours.attachments if a.filename) == names, ours.subject
        checked += 1
    assert checked == 400
