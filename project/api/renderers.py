"""JSON bodies through ``orjson``, byte for byte as DRF's ``JSONRenderer`` writes them with the hub's settings.

DRF writes compact JSON (``,`` and ``:``), keeps non-ASCII text as UTF-8, escapes U+2028 and U+2029, and turns
datetimes, decimals, lazy strings and the like into JSON through its ``JSONEncoder``. ``orjson`` writes the
same bytes for strings, integers, lists and dicts; datetimes are handed to DRF's encoder so they keep its
spelling, and anything ``orjson`` refuses (integers beyond 64 bits, keys that are not strings) is written by
DRF's renderer instead, so it answers exactly as before. NaN and infinities never reach a body: the JSON
parser and the float fields refuse them. The one spelling that differs is of some floats below 1e-4 in
magnitude (``0.00001`` where the standard library writes ``1e-05``): the same number for every JSON reader.
"""

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# JavaScript line terminators: valid in JSON strings but not in JavaScript ones, so DRF escapes them.
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


def json_bytes(data: Any) -> bytes:
    """Encode ``data`` as DRF's ``JSONRenderer`` does (without indentation)."""
    try:
        body = orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return JSONRenderer().render(data)
    if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:
        body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return body


class OrjsonRenderer(JSONRenderer):
    """DRF's JSON renderer, encoding through ``json_bytes``; an ``indent`` asked for in ``Accept`` keeps DRF's."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return json_bytes(data)
