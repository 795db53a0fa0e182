"""A URL as written -> the URL to fetch and the one to show.

Redirect wrappers (Outlook safelinks, Google) unwrapped, tracking parameters dropped, the
host lower-cased and IDN-encoded (unicode in the display), `www.` given a scheme, mailto
and HyperKitty's "(a)" obfuscation handled. Pure string work, without urllib's urlsplit
overhead; a few hundred hosts carry all of a list's URLs, so per-host facts are memoised.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

# The schemes of a web URL ("www." without one is given http).
_SCHEMES = frozenset(("http", "https", "ftp", "ftps"))
_HOST_OK = re.compile(r"[a-z0-9.\-_\[\]:]+")
# "(a)" for "@" (HyperKitty), " at " for "@" (pipermail; the wrapped-URL reader uses it too).
_HYPERKITTY_AT = re.compile(r"\(a\)(?=[\w.-])")
OBFUSCATED_AT = re.compile(r"[ \t]+at[ \t]+(?=[\w-]+(?:\.[\w-]+)+)")
_TRACKING = frozenset(("fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
                       "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "mkt_tok", "_ga", "_gl"))
# What follows "://": netloc, path, query, fragment in one C-speed match (each part is a single
# run of excluded characters, so nothing can backtrack).
_URL_REST = re.compile(r"([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)


def split(u: str) -> tuple[str, str, str, str, str]:
    """(scheme, netloc, path, query, fragment) of "scheme://..." without urlsplit's overhead."""
    i = u.find("://")
    netloc, path, query, fragment = _URL_REST.match(u, i + 3).groups("")  # type: ignore[union-attr]
    return u[:i], netloc, path, query, fragment


def host_of(netloc: str) -> tuple[str, str, str]:
    """(userinfo, host, ":port") of a netloc."""
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        return userinfo, hostport[:close + 1], hostport[close + 1:]
    host, colon, port = hostport.partition(":")
    return userinfo, host, (colon + port if port.isdigit() else "")


def normalise_url(written: str) -> tuple[str, str] | None:
    """(url to fetch, display) for a URL as joined from the text; None if it is no URL.

    Redirect wrappers are unwrapped, tracking parameters dropped, the host lower-cased and
    IDN-encoded (unicode in the display), `www.` given a scheme.
    """
    parts = normalise(written)
    return None if parts is None else (parts[0], parts[1])


@lru_cache(maxsize=2048)
def _netloc_facts(netloc: str) -> tuple[str, str, str, bool, tuple[str, str] | None]:
    """(userinfo, host, ":port", may redirect, (ASCII host, unicode host) or None if no resolver
    would accept the host) of a netloc: a few hundred hosts carry all the URLs of a list."""
    if "@" in netloc or ":" in netloc or netloc[:1] == "[":
        userinfo, host, port = host_of(netloc)
    else:
        userinfo, host, port = "", netloc, ""
    host = host.lower().rstrip(".")
    redirect = host.endswith("safelinks.protection.outlook.com") or host in _GOOGLE_HOSTS
    if not host or not (host[0].isalnum() or any(c.isalnum() for c in host)):
        return userinfo, host, port, redirect, None
    ascii_host, unicode_host = _idn(host)
    if _HOST_OK.fullmatch(ascii_host) is None:
        return userinfo, host, port, redirect, None  # prose glued to a scheme
    return userinfo, host, port, redirect, (ascii_host, unicode_host)


def normalise(written: str) -> tuple[str, str, str, str, str] | None:
    """(url, display, host, path, query); host is "" for mailto:. What normalise_url says,
    with the parts kinds.url_info classifies the URL by, so they are found only once."""
    u = written.strip()
    first = u[:1]  # (only "m"/"M" and "w"/"W" lower-case to the first letter of each prefix)
    if (first == "m" or first == "M") and u[:7].lower() == "mailto:":
        addr = OBFUSCATED_AT.sub("@", u[7:]).replace(" ", "")
        if "@" not in addr.split("?", 1)[0]:
            return None
        return "mailto:" + addr, unquote(addr.split("?", 1)[0]), "", "", ""
    if (first == "w" or first == "W") and u[:4].lower() == "www.":
        u = "http://" + u
    if "://" not in u:
        return None
    if "(a)" in u:  # HyperKitty writes an "@" as "(a)" in message bodies, URLs included
        u = _HYPERKITTY_AT.sub("@", u)
    for _ in range(3):
        scheme, netloc, path, query, fragment = split(u)
        userinfo, host, port, redirect, hosts = _netloc_facts(netloc)
        if not redirect:
            break
        target = _redirect_target(host, path, query)
        if target is None:
            break
        u = target
    if hosts is None or scheme.lower() not in _SCHEMES:
        return None
    scheme = scheme.lower()
    ascii_host, unicode_host = hosts
    auth = userinfo + "@" if userinfo else ""
    if query:
        query = _drop_tracking(query)
    url = f"{scheme}://{auth}{ascii_host}{port}{path}"
    display = unicode_host + port + ("" if path == "/" else _unquote(path))
    if query:
        url += "?" + query
        display += "?" + _unquote(query)
    if fragment:
        url += "#" + fragment
        display += "#" + _unquote(fragment)
    return url, display, ascii_host, path, query


def _unquote(s: str) -> str:
    """%-escapes decoded for the display (most parts have none)."""
    return unquote(s, errors="replace") if "%" in s else s


def _idn(host: str) -> tuple[str, str]:
    """(ASCII host for fetching, unicode host for reading)."""
    if host.isascii():
        if "xn--" not in host:
            return host, host
        try:
            return host, host.encode("ascii").decode("idna")
        except UnicodeError:
            return host, host
    try:
        return host.encode("idna").decode("ascii"), host
    except UnicodeError:
        return host, host


_GOOGLE_HOSTS = frozenset(("www.google.com", "google.com"))


def _redirect_target(host: str, path: str, query: str) -> str | None:
    """The real URL inside an Outlook safelinks or Google redirect, if this is one."""
    if host.endswith("safelinks.protection.outlook.com"):
        keys: tuple[str, ...] = ("url",)
    elif host in _GOOGLE_HOSTS and path == "/url":
        keys = ("q", "url")
    else:
        return None
    params = dict(parse_qsl(query, keep_blank_values=True))
    for key in keys:
        target = params.get(key, "")
        if target.lower().startswith(("http://", "https://")):
            return target
    return None


# A query holding none of the keys _drop_tracking drops (lower-cased) is kept as it is, without
# splitting it: most queries.
_TRACKING_HINT = re.compile("|".join(["utm_", *map(re.escape, sorted(_TRACKING))]))


def _drop_tracking(query: str) -> str:
    """The query without utm_* and click/mail trackers: they differ per copy of a link."""
    if not query or _TRACKING_HINT.search(query.lower()) is None:
        return query
    kept = []
    for pair in query.split("&"):
        key = pair.split("=", 1)[0].lower()
        if key.startswith("utm_") or key in _TRACKING:
            continue
        kept.append(pair)
    return "&".join(kept)
