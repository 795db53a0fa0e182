"""Reading one URL's extent (digest/links/wrap.py); the wrapped-URL cases themselves are read
through the whole stage in test_links.py."""
from __future__ import annotations

import re
import sys

from digest.links.wrap import STOPS, TOKEN


def test_the_url_token_stops_at_exactly_whitespace_and_the_listed_punctuation():
    # TOKEN spells out the whitespace for speed: it must stay what "\s" means
    every_char = "".join(map(chr, range(sys.maxunicode + 1)))
    assert TOKEN.pattern.startswith(f"[^{STOPS},&]*")
    stops = "[" + STOPS + "]"
    reference = r"[\s<>\"`“”«»‹›「」『』【】〈〉《》，。、；：！？（）]"
    assert re.findall(stops, every_char) == re.findall(reference, every_char)
