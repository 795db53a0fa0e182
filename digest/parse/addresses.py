"""Senders and lists: pipermail's `user at example.org` undone, From split into name and address,
and list names from List-Id or from list addresses among the recipients."""
from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

_OBFUSCATED_RE = re.compile(r" at (?=[-+\w]+(?:\.[-+\w]+)+)")


def _at_sign(m: re.Match[str]) -> str:
    """An "@" when a local part (letters, digits, `-+,._`) ends right before " at "."""
    before = m.string[m.start() - 1:m.start()]
    return "@" if before and (before.isalnum() or before in "-+,._") else m.group(0)


def deobfuscate(text: str) -> str:
    """Undo pipermail's `user at example.org` (only between a word and a dotted domain)."""
    return _OBFUSCATED_RE.sub(_at_sign, text) if " at " in text else text


_ATOM = r"[^()<>@,:;.\"\[\]\s\\]+"
# `Plain Name <local@example.org>` or `local@example.org`: most senders
_SIMPLE_FROM_RE = re.compile(
    rf"(?:({_ATOM}(?:[ \t]+{_ATOM})*)[ \t]*<({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*)>"
    rf"|({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*))\Z")


def parse_from(value: str) -> tuple[str, str, bool]:
    """(display name, address, was obfuscated) from a decoded From header."""
    value = value.strip()
    obfuscated = False
    if " at " in value:
        # only the address part: a display name may legitimately contain " at "
        if "<" in value:
            head, _, rest = value.partition("<")
            addr_part, _, tail = rest.partition(">")
            if "@" not in addr_part and " at " in addr_part:
                value, obfuscated = head + "<" + deobfuscate(addr_part) + ">" + tail, True
        elif "(" in value:
            head, _, rest = value.partition("(")
            if "@" not in head and " at " in head:
                value, obfuscated = deobfuscate(head) + "(" + rest, True
        elif "@" not in value:
            value = deobfuscate(value)
            obfuscated = "@" in value
    simple = _SIMPLE_FROM_RE.match(value)
    if simple:   # what parseaddr gives for these, without its character-by-character walk
        phrase, addr = simple.group(1), simple.group(2) or simple.group(3)
        name = " ".join(phrase.split()) if phrase else ""
    else:
        name, addr = parseaddr(value)
    if not addr and value:
        # parseaddr gives up on odd quoting: keep what looks like an address
        m = re.search(r"[^\s<>()\"']+@[^\s<>()\"']+", value)
        addr = m.group(0) if m else ""
        name = name or value.replace(addr, "").strip(" <>()\"")
    name = name.strip().strip('"').strip()
    if obfuscated and name:
        name = deobfuscate(name) if " at " in name else name
    if name and addr and name.lower() == addr.lower():
        name = ""
    return name, addr.strip(), obfuscated


# --- lists -----------------------------------------------------------------------------------

_ANGLE_RE = re.compile(r"<([^<>]*)>")


def list_from_id(value: str) -> str:
    """The list name in a List-Id (`<wikimedia-l.lists.wikimedia.org>` -> "wikimedia-l")."""
    found = _ANGLE_RE.search(value)
    ident = (found.group(1) if found else value).strip().lower()
    if not ident:
        return ""
    if ".lists." in ident:
        return ident.split(".lists.", 1)[0]
    return ident.split(".", 1)[0]


def lists_from_recipients(values: list[str]) -> list[str]:
    """List names from `name@lists.*` recipients: the last resort without List-Id or hints."""
    names: list[str] = []
    for _, addr in getaddresses(values):
        local, _, domain = addr.lower().partition("@")
        if local and domain.startswith("lists.") and local not in names:
            names.append(local)
    return names
