"""Who is one IAM principal: the canonical form of an identity, for comparing who created a package
with who approves it. Pure and light (a few patterns): the approval answers use it without loading
the gates (``mlcp.gates.evaluate``'s separation-of-duties gate uses it too)."""

from __future__ import annotations

import re

_ASSUMED_ROLE = re.compile(r"^arn:(?P<p>[^:]+):sts::(?P<a>\d{12}):assumed-role/(?P<r>[^/]+)/.+$")
_IAM = re.compile(r"^arn:(?P<p>[^:]+):iam::(?P<a>\d{12}):(?P<kind>role|user)/(?:.*/)?(?P<r>[^/]+)$")
_ROOT = re.compile(r"^arn:(?P<p>[^:]+):iam::(?P<a>\d{12}):root$")
_FEDERATED = re.compile(r"^arn:(?P<p>[^:]+):sts::(?P<a>\d{12}):federated-user/(?P<r>.+)$")


def principal(identity: str) -> str:
    """A canonical form of an IAM identity, for comparing who created with who approves.

    ``arn:aws:sts::A:assumed-role/R/session`` and ``arn:aws:iam::A:role/path/R`` are both ``role A/R``: a role
    is one identity whatever the session, so two people sharing a role count as one (fail closed). IAM role
    and user names are case-insensitive; the rest compares case-sensitively after trimming.
    """
    text = identity.strip()
    if match := _ASSUMED_ROLE.match(text):
        return f"role:{match['p']}:{match['a']}:{match['r'].lower()}"
    if match := _IAM.match(text):
        return f"{match['kind']}:{match['p']}:{match['a']}:{match['r'].lower()}"
    if match := _ROOT.match(text):
        return f"root:{match['p']}:{match['a']}"
    if match := _FEDERATED.match(text):
        return f"federated:{match['p']}:{match['a']}:{match['r']}"
    return text


def same_identity(first: str, second: str) -> bool:
    """Whether two identities are one principal (``principal``: a role is one identity whatever the session)."""
    return principal(first) == principal(second)
