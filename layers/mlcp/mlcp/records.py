"""``record_class``: a dataclass whose methods are built without compiling source (ADR 41).

``dataclasses.dataclass`` writes the source of ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
and, when frozen, ``__setattr__``/``__delattr__`` for each class and compiles it with ``exec``: about
0.6 ms of CPU per class at a Lambda cold start, more than a pydantic model with ``defer_build``, and a
handler imports 12 to 16 such classes. ``record_class`` lets ``dataclass`` do everything but generate
methods (fields, defaults, ``__match_args__``, slots) and adds generic methods with the same
semantics: ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work as on any
dataclass, ``__dataclass_params__`` tells the truth (frozen, eq, repr), instances compare, hash,
print and refuse assignment as a dataclass's do. Building an instance costs a little more (a loop
over the fields instead of straight-line code): records are built a few times per invocation.

Not supported (a ``TypeError`` says so): ``order``, ``kw_only``, ``InitVar``, fields with
``init=False``.
"""

import dataclasses
import reprlib
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, dataclass_transform, overload


def _methods(cls: type, *, frozen: bool, eq: bool, show: bool) -> dict[str, Any]:
    fields = dataclasses.fields(cls)
    for item in fields:
        if not item.init or item.kw_only is True or item.type is dataclasses.InitVar:
            raise TypeError(f"{cls.__qualname__}.{item.name}: record supports init fields only")
    names = tuple(item.name for item in fields)
    # Per field: (has a default, the default, its factory or None). Tuples, not a dict: the closures
    # below hold only immutable values, as the shared-module rule of local mode wants (ADR 33).
    fallbacks = tuple(
        (
            item.default is not MISSING or item.default_factory is not MISSING,
            None if item.default is MISSING else item.default,
            None if item.default_factory is MISSING else item.default_factory,
        )
        for item in fields
    )
    compared = tuple(item.name for item in fields if item.compare)
    shown = tuple(item.name for item in fields if item.repr)
    post_init = hasattr(cls, "__post_init__")
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(
                f"{qualname}.__init__() takes {len(names) + 1} positional arguments but {len(args) + 1} were given"
            )
        for index, name in enumerate(names):
            if index < len(args):
                if name in kwargs:
                    raise TypeError(f"{qualname}.__init__() got multiple values for argument '{name}'")
                value = args[index]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif fallbacks[index][0]:
                _, default, factory = fallbacks[index]
                value = default if factory is None else factory()
            else:
                raise TypeError(f"{qualname}.__init__() missing 1 required positional argument: '{name}'")
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(
                f"{qualname}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'"
            )
        if post_init:
            self.__post_init__()

    methods: dict[str, Any] = {"__init__": __init__}

    if show:

        @reprlib.recursive_repr()
        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
            return f"{type(self).__qualname__}({inner})"

        methods["__repr__"] = __repr__

    if eq:

        def __eq__(self: Any, other: object) -> bool:
            if self is other:
                return True
            if other.__class__ is self.__class__:
                mine = tuple(getattr(self, name) for name in compared)
                return mine == tuple(getattr(other, name) for name in compared)
            return NotImplemented

        methods["__eq__"] = __eq__
        if frozen:

            def __hash__(self: Any) -> int:
                return hash(tuple(getattr(self, name) for name in compared))

            methods["__hash__"] = __hash__
        else:
            methods["__hash__"] = None  # as dataclass: mutable and compared by value, so unhashable

    if frozen:
        methods.update(_frozen_methods(cls, names))
    return methods


def _frozen_methods(cls: Any, names: tuple[str, ...]) -> dict[str, Any]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return {"__setattr__": __setattr__, "__delattr__": __delattr__}


def _build[T](cls: type[T], *, frozen: bool, eq: bool, show: bool, slots: bool) -> type[T]:
    if not cls.__dict__.get("__doc__"):
        cls.__doc__ = cls.__name__  # else dataclass computes one with inspect.signature (0.15 ms)
    built = dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=False, slots=slots)
    for name, method in _methods(built, frozen=frozen, eq=eq, show=show).items():
        if name in built.__dict__ and built.__dict__[name] is not None:
            if name in ("__setattr__", "__delattr__"):
                raise TypeError(f"Cannot overwrite attribute {name} in class {built.__name__}")
            continue  # the class's own method wins, as with dataclass
        if method is not None:
            method.__qualname__ = f"{built.__qualname__}.{name}"
        setattr(built, name, method)
    if frozen and slots:
        # As dataclass does for frozen slotted classes: pickle and copy restore through object.__setattr__.
        target: Any = built
        target.__getstate__, target.__setstate__ = _getstate, _setstate
    params = vars(built)["__dataclass_params__"]
    params.init, params.repr, params.eq, params.frozen = True, show, eq, frozen
    return built


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, item.name) for item in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for item, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, item.name, value)


@overload
def record_class[T](cls: type[T], /) -> type[T]: ...


@overload
def record_class[T](
    *, frozen: bool = True, eq: bool = True, repr: bool = True, slots: bool = False
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record_class[T](
    cls: type[T] | None = None,
    /,
    *,
    frozen: bool = True,
    eq: bool = True,
    repr: bool = True,
    slots: bool = False,
) -> type[T] | Callable[[type[T]], type[T]]:
    """``@dataclass(frozen=True)`` semantics, methods built without ``exec`` (see the module).

    ``frozen``, ``eq``, ``repr`` and ``slots`` mean what they mean for ``dataclass``; a record is
    frozen unless ``frozen=False``."""

    def wrap(target: type[T]) -> type[T]:
        return _build(target, frozen=frozen, eq=eq, show=repr, slots=slots)

    return wrap if cls is None else wrap(cls)
