"""A monitoring run's findings in one shape, whatever the monitor: ``Violation``, and the helpers the
retraining decisions count them with. Pure and light: the functions that retrain on new data or on a
schedule decide with these but never read a monitoring report (:mod:`mlcp.monitoring` parses them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mlcp.records import record_class

if TYPE_CHECKING:
    from mlcp.policy.model import MonitoringKind


@record_class(slots=True)
class Violation:
    """One failed check: of a feature (column, facet or label) or, with feature ``*``, of the model."""

    feature: str
    check_type: str
    kind: MonitoringKind
    metric: str | None = None
    threshold: float | None = None
    observed: float | None = None
    description: str = ""


def violating_features(violations: Iterable[Violation], kind: str | None = None) -> list[str]:
    """Distinct features with a violation (of ``kind``, if given), first seen first."""
    return list(dict.fromkeys(v.feature for v in violations if kind is None or v.kind == kind))


def kinds_of(violations: Iterable[Violation]) -> list[MonitoringKind]:
    """Distinct kinds, first seen first."""
    return list(dict.fromkeys(v.kind for v in violations))
