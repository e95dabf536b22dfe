"""``mlcp.records.record_class`` behaves as ``dataclasses.dataclass`` with the same options (ADR 41)."""

import copy
import dataclasses
import pickle
import re
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from mlcp.records import record_class

from .architecture import PACKAGE


@record_class(slots=True)
class Point:
    """A frozen slotted record."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PointDataclass:
    """The same, as a dataclass."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = field(default="", compare=False, repr=False)


@record_class
class Checked:
    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")


@record_class(frozen=False, eq=False, repr=False)
class Bundle:
    name: str
    items: dict[str, Any] = field(default_factory=dict)


@record_class(frozen=False)
class Mutable:
    value: int


def _same_repr(a: object, b: object) -> None:
    assert repr(a).replace(type(a).__qualname__, "X") == repr(b).replace(type(b).__qualname__, "X")


def test_construction_equality_hash_and_repr_match_a_dataclass() -> None:
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((), {"x": 3, "tags": ("a",)}), ((1,), {"note": "n"})]:
        mine, theirs = Point(*args, **kwargs), PointDataclass(*args, **kwargs)
        _same_repr(mine, theirs)
        assert dataclasses.astuple(mine) == dataclasses.astuple(theirs)
        assert hash(mine) == hash(theirs)
    assert Point(1, 2) == Point(1, 2, note="other")  # note is not compared
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != PointDataclass(1)  # another class: not equal, as a dataclass
    assert Bundle("a").items is not Bundle("a").items  # a fresh default per instance
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_frozen_refuses_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'x'"):
        del point.x  # type: ignore[misc]
    assert not hasattr(point, "__dict__")


def test_argument_errors_are_type_errors() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional arguments"):
        Point(1, 2, (), "n", 5)  # type: ignore[call-arg]


def test_dataclass_functions_work() -> None:
    point = Point(1, 2, ("a",))
    assert dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "tags", "note"]
    assert dataclasses.replace(point, y=5) == Point(1, 5, ("a",))
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": ("a",), "note": ""}
    assert Point.__match_args__ == ("x", "y", "tags", "note")
    params = Point.__dataclass_params__  # type: ignore[attr-defined]
    assert (params.frozen, params.eq, params.repr, params.init) == (True, True, True, True)
    bundle_params = Bundle.__dataclass_params__  # type: ignore[attr-defined]
    assert (bundle_params.frozen, bundle_params.eq, bundle_params.repr) == (False, False, False)


def test_pickle_and_copy_restore_a_frozen_slotted_record() -> None:
    point = Point(1, 2, ("a",), "n")
    for clone in (pickle.loads(pickle.dumps(point)), copy.copy(point), copy.deepcopy(point)):
        assert clone == point
        assert clone.note == "n"


def test_post_init_runs() -> None:
    assert Checked(1, 2).high == 2
    with pytest.raises(ValueError, match="low > high"):
        Checked(3, 2)


def test_mutable_records() -> None:
    bundle = Bundle("a")
    bundle.name = "b"
    assert bundle != Bundle("b")  # eq=False: identity
    assert hash(bundle) == object.__hash__(bundle)
    assert repr(bundle).startswith("<")
    mutable = Mutable(1)
    mutable.value = 2
    assert mutable == Mutable(2)
    with pytest.raises(TypeError, match="unhashable"):
        hash(mutable)


def test_unsupported_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="init fields only"):

        @record_class
        class Derived:
            value: int = field(init=False, default=0)


_DATACLASS = re.compile(r"^\s*@(dataclasses\.)?dataclass\b")


def test_the_runtime_package_declares_records_not_dataclasses() -> None:
    """A ``@dataclass`` in the layer compiles its methods at every cold start (ADR 41)."""
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _DATACLASS.match(line)
    ]
    assert offenders == [], f"use mlcp.records.record_class: {offenders}"
