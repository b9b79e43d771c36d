"""File downloads: one response shape, with a Content-Disposition header that is always safe.

The file name comes partly from data (resource codes, registry keys), so it is never pasted into the
header as is: a plain-ASCII fallback in `filename` (RFC 6266) and, when the name needs more, the
exact name UTF-8 encoded in `filename*` (RFC 5987), so no quote, separator or line break can break
out of the header and Chinese names still reach the browser.
"""

import re
from urllib.parse import quote

from fastapi.responses import Response

_UNSAFE_IN_FALLBACK = re.compile(r"[^A-Za-z0-9._-]")
_CONTROL_OR_SEPARATOR = re.compile(r"[\x00-\x1f\x7f/\\]")
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char besides letters and digits


def content_disposition(filename: str) -> str:
    """The Content-Disposition value for a download of that name."""
    name = _CONTROL_OR_SEPARATOR.sub("_", filename).strip() or "download"
    fallback = _UNSAFE_IN_FALLBACK.sub("_", name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
    return value


def attachment(content: bytes, *, filename: str, media_type: str) -> Response:
    """A response the browser saves as a file of that name."""
    return Response(content, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)})
