"""S3 URIs as the registry and the reports write them: ``s3://bucket/key?versionId=v``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def parse_s3_uri(uri: str) -> tuple[str, str, str | None] | None:
    """``s3://bucket/key?versionId=v`` -> (bucket, key, version id or None); None when not an S3 URI."""
    parts = urlsplit(uri.strip())
    if parts.scheme != "s3" or not parts.netloc:
        return None
    return parts.netloc, parts.path.lstrip("/"), query_version_id(parts.query)


def query_version_id(query: str) -> str | None:
    """The ``versionId`` of a URI's query string, percent-decoded but with ``+`` kept: S3 version ids
    contain ``+`` literally (AWS's example: ``3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo``),
    and form decoding (``parse_qs``) would turn each into a space."""
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "versionId" and value:
            return unquote(value)
    return None
