"""The parse stage: raw RFC 5322 bytes (+ source hints) -> one clean `Message`.

Pure and forgiving: whatever the archive did to a mail (pipermail obfuscation, wrong charsets,
ctime dates, scrubbed parts, missing Message-IDs) becomes a field or a `Defect`, never an
exception. MIME structure is read by a small reader of its own and headers are decoded by hand:
`email.policy.default` is several times slower and raises on headers real archives are full
of, and even the compat32 feed parser (a Python loop over every body line plus a regex compiled
per boundary) capped parsing near 1,000 msg/s on 10 KB mails; this reaches 3,000-4,000.

Where each role lives:
  message.py      parse_message: the assembly of the rest, defects, synthetic key, content hash
  mime.py         head split, Content-Type parameters, transfer decoding, multipart, unflow
  headers.py      charsets (decode_bytes) and header values (RFC 2047, raw 8-bit)
  dates.py        parse_date: every Date form in the archives -> aware UTC
  addresses.py    deobfuscate, parse_from (senders); list names from List-Id and recipients
  identifiers.py  normalise_message_id, message_id_hash, reference ids, normalise_subject
  body.py         split_body: new, quoted, signature, footer, scrubbed attachments
  htmltext.py     html_to_text for HTML-only mail
"""
from __future__ import annotations

from .addresses import deobfuscate, parse_from
from .body import split_body
from .dates import parse_date
from .headers import decode_bytes, decode_header_value
from .htmltext import html_to_text
from .identifiers import message_id_hash, normalise_message_id, normalise_subject
from .message import parse_message
from .mime import unflow

__all__ = ["parse_message", "normalise_message_id", "message_id_hash", "normalise_subject",
           "decode_header_value", "decode_bytes", "html_to_text", "split_body", "parse_date",
           "parse_from", "deobfuscate", "unflow"]
