"""moto's request path without work it repeats on every request (ADR 40).

Not an AWS behaviour: a cost of serving every call in-process. Each fill here answers exactly what
moto's own code answers, from less work.
"""

from __future__ import annotations

import inspect
from typing import Any


class ActionMethods:
    """What ``moto.core.utils.method_names_from_class(cls)`` lists, as a membership test.

    moto's ``BaseResponse.call_action`` asks it on every request whether the action is one of the
    response class's methods: ``inspect.getmembers`` over the class's ~300 attributes, a tenth of
    moto's share of a request, only to test one name. The name is one of them when the class (or a
    base) defines it and the attribute it reads as is a plain function; read at each test, so a
    method a fill adds or removes later is seen as moto would see it.
    """

    __slots__ = ("_cls",)

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not any(name in vars(klass) for klass in self._cls.__mro__):
            return False
        return inspect.isfunction(getattr(self._cls, name, None))

    def __iter__(self) -> Any:
        return iter(name for name, _ in inspect.getmembers(self._cls, predicate=inspect.isfunction))


def fill_moto_action_methods(clazz: Any) -> Any:
    """Replaces ``method_names_from_class`` in ``moto.core.responses`` (its only use: ``action in
    method_names`` in ``call_action``) with :class:`ActionMethods`."""
    return ActionMethods(clazz)
