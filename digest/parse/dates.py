"""Date headers in every form the archives hold (RFC 5322, ctime, ISO, impossible zones) -> aware
UTC datetimes plus a short problem string, so a bad date becomes a defect, not an exception."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_tz

_UTC = timezone.utc
_MAX_OFFSET = 14 * 3600 + 59 * 60   # real zones stay within +-14:00
_COMMENT_RE = re.compile(r"\([^()]*\)")

_CTIME_RE = re.compile(
    r"^\s*(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d)(?::(\d\d))?"
    r"(?:\s+([A-Za-z]{1,5}|[+-]\d{4}))?\s+(\d{4})")
_ZONE_RE = re.compile(r"^[+-]\d{4}$")
_USUAL_DATE_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
    r"|Dec) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? ([+-])(\d\d)(\d\d)(?: \([^()]*\))?\Z")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
          "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2,
          "BST": 1, "IST": 5.5, "JST": 9, "EET": 2, "EEST": 3, "WET": 0, "WEST": 1}


def parse_date(value: str | None) -> tuple[datetime | None, str]:
    """(aware UTC datetime, problem) for a Date header in any form seen in archives.

    problem is "" when all was well, else a short reason (the date may still be usable).
    """
    if not value or not value.strip():
        return None, "missing"
    value = value.strip()
    problem = ""
    usual = _USUAL_DATE_RE.match(value)
    if usual:   # what parsedate_tz gives for RFC 5322 dates, without its Python tokenizer
        day, month, year, hour, minute, second, sign, zh, zm = usual.groups()
        offset = (int(zh) * 3600 + int(zm) * 60) * (-1 if sign == "-" else 1)
        if abs(offset) <= _MAX_OFFSET:
            try:
                return datetime(int(year), _MONTHS[month.lower()], int(day), int(hour),
                                int(minute), min(int(second or 0), 59),
                                tzinfo=_UTC) - timedelta(seconds=offset), problem
            except ValueError:
                pass
    parts = None
    try:
        parts = parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        parts = None
    if parts is not None:
        offset = parts[9] or 0
        tokens = _COMMENT_RE.sub(" ", value).split()
        zone = tokens[-1] if tokens else ""
        if abs(offset) > _MAX_OFFSET or (zone[:1] in "+-" and not _ZONE_RE.match(zone)):
            problem, offset = f"impossible time zone offset in {value!r}, read as UTC", 0
        try:
            year = parts[0]
            when = datetime(year, parts[1], parts[2], parts[3], parts[4], min(parts[5], 59),
                            tzinfo=_UTC) - timedelta(seconds=offset)
            return when, problem
        except (ValueError, OverflowError, TypeError):
            pass
    m = _CTIME_RE.match(value)
    if m and m.group(1).lower() in _MONTHS:
        zone = m.group(6) or ""
        hours: float = 0
        if zone[:1] in "+-" and zone[1:].isdigit():
            hours = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) + int(zone[3:5]) / 60)
        else:
            hours = _ZONES.get(zone.upper(), 0)
        try:
            when = datetime(int(m.group(7)), _MONTHS[m.group(1).lower()], int(m.group(2)),
                            int(m.group(3)), int(m.group(4)), min(int(m.group(5) or 0), 59),
                            tzinfo=_UTC) - timedelta(hours=hours)
            return when, problem
        except (ValueError, OverflowError):
            pass
    try:
        iso = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if iso.tzinfo is None:
            iso = iso.replace(tzinfo=_UTC)
        return iso.astimezone(_UTC), problem
    except ValueError:
        pass
    return None, f"unparseable date {value[:80]!r}"
