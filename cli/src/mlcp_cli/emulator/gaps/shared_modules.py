"""Which layer modules the emulated Lambda execution environments may share (ADR 33).

Not an AWS behaviour: a cost of running many execution environments in one process. Each function
gets its own import of the layer packages (:data:`~.awslambda.LAYER_PACKAGES`), so module-level
state (Powertools' Logger and Metrics, cached clients, configuration read at import) never leaks
from one function to another, as on AWS. Most of the layer's modules hold no such state: pydantic
models of events, the policy and audit records, pure domain functions. Importing those again for
each function costs the same pydantic class building every time and changes nothing any function
sees, so after one function imported such a module, the others are handed that same module.

The rule is mechanical, checked on the module as imported (never a list of names):

* a plain module, not a package (the import system binds every submodule it imports into its
  package: a package's namespace depends on which function imported what);
* its source has no ``global`` / ``nonlocal`` statement and no ``globals()`` call (code that
  rebinds names after import), and the code it runs at import reads no environment variable;
* everything its namespace holds is immutable, recursively: numbers, strings, tuples, frozensets,
  compiled patterns, enum members, typing constructs, frozen dataclass instances, functions (their
  defaults and closure cells too) and classes (their own attributes too: a class-level dict like
  Powertools' metric set is state). A dict, list or set is accepted only as a module constant: an
  UPPER_CASE name the module never mutates. Any other object (a client, a logger, a lock, a cache
  wrapper such as ``functools.cache``) is state;
* every function, class or module of the layer it refers to comes from a module that is shared,
  the very same object (so a class has one identity for every function that uses it).

A module refused once for what it is stays refused; one refused for a dependency that is not yet
shared is examined again after the next invocation.
"""

from __future__ import annotations
import __future__

import ast
import collections
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import functools
import importlib.abc
import importlib.machinery
import logging
import pathlib
import re
import sys
import types
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

_IMMUTABLE_VALUES: tuple[type, ...] = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    range,
    type(Ellipsis),
    type(NotImplemented),
    re.Pattern,
    dt.date,
    dt.time,
    dt.timedelta,
    dt.tzinfo,
    decimal.Decimal,
    fractions.Fraction,
    uuid.UUID,
    pathlib.PurePath,
    __future__._Feature,
)
_CONTAINERS: tuple[type, ...] = (dict, list, set)
_TYPING_MODULES = frozenset({"typing", "types", "typing_extensions", "annotated_types"})
_ENV_READS = frozenset({"environ", "environb", "getenv", "getenvb"})
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "popitem",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "__setitem__",
        "__delitem__",
        "__ior__",
    }
)
_TUPLE_GETTER: type = type(vars(collections.namedtuple("_Probe", "field"))["field"])  # its field accessor
_SOURCE_TRIGGERS = ("global", "nonlocal", "environ", "getenv")
"""Words without which the source cannot hold what only parsing it finds (``globals()`` included)."""
_CONSTANT_NAME = re.compile(r"^_*[A-Z][A-Z0-9_]*$")


class _Refused(Exception):
    """Why a module is not shared; ``permanent``: for what the module is, not for a dependency."""

    def __init__(self, reason: str, *, permanent: bool = True) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclasses.dataclass(frozen=True)
class _SourceFacts:
    """What the module's source says: a reason it can never be shared, and the names it mutates."""

    refusal: str | None
    mutated: frozenset[str]


def _source_facts(path: str, text: str) -> _SourceFacts:
    tree = ast.parse(text, filename=path)
    mutated: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            kind = "global" if isinstance(node, ast.Global) else "nonlocal"
            return _SourceFacts(
                f"line {node.lineno}: a `{kind}` statement rebinds names after import", frozenset()
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals":
            return _SourceFacts(f"line {node.lineno}: globals() writes its namespace", frozenset())
        target = _mutated_name(node)
        if target is not None:
            mutated.add(target)
    env_read = _import_time_env_read(tree.body)
    if env_read is not None:
        return _SourceFacts(f"line {env_read}: reads the environment at import", frozenset())
    return _SourceFacts(None, frozenset(mutated))


def _mutated_name(node: ast.AST) -> str | None:
    """``NAME`` when ``node`` changes the object a name holds: ``NAME[k] = v``, ``del NAME[k]``,
    ``NAME.attr = v``, ``NAME += v``, ``NAME.append(v)``..."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = [t for t in node.targets if isinstance(t, ast.Subscript | ast.Attribute)]
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = [t for t in node.targets if isinstance(t, ast.Subscript | ast.Attribute)]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _MUTATORS
        and isinstance(node.func.value, ast.Name)
    ):
        return node.func.value.id
    for target in targets:
        if isinstance(node, ast.AnnAssign) and isinstance(target, ast.Name):
            continue  # a plain (re)binding with an annotation
        changed = target
        while isinstance(changed, ast.Subscript | ast.Attribute):
            changed = changed.value
        if isinstance(changed, ast.Name):
            return changed.id
    return None


def _import_time_env_read(body: Iterable[ast.stmt]) -> int | None:
    """The line of the first environment read in code that runs at import (function bodies run
    at call time, in the calling function's environment, and are skipped; their decorators and
    defaults run at import and are not)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            continue
        if (isinstance(node, ast.Name) and node.id in _ENV_READS) or (
            isinstance(node, ast.Attribute) and node.attr in _ENV_READS
        ):
            return getattr(node, "lineno", 0)
        stack.extend(ast.iter_child_nodes(node))
    return None


class ModuleSharing:
    """The modules of ``layer_packages`` shared between execution environments of one registry."""

    def __init__(self, layer_packages: Iterable[str]) -> None:
        self._layer = frozenset(layer_packages)
        self.shared: dict[str, types.ModuleType] = {}
        self.refused: dict[str, str] = {}
        """Module name -> why it is not shared (for ``mlcp`` developers and the tests)."""
        self._facts: dict[str, _SourceFacts] = {}
        self._permanent: set[str] = set()
        self._refused_at: dict[str, int] = {}
        self.finder = _SharedModuleFinder(self)

    def is_layer(self, name: str) -> bool:
        return name.partition(".")[0] in self._layer

    def promote(self, environment: Mapping[str, types.ModuleType]) -> None:
        """After an invocation: share every module of ``environment`` the rule allows (the first
        environment that imported a module gives its copy to the others)."""
        verdicts: dict[str, bool] = {}
        for name in environment:
            if name in self.shared or name in self._permanent:
                continue
            if self._refused_at.get(name) == len(self.shared):
                continue  # refused for a dependency, and nothing was shared since
            self._decide(name, environment, verdicts)

    def _decide(
        self, name: str, environment: Mapping[str, types.ModuleType], verdicts: dict[str, bool]
    ) -> bool:
        if name in self.shared:
            return environment.get(name) is self.shared[name]
        if name in self._permanent or name not in environment:
            return False
        if name in verdicts:  # decided in this pass, or being decided (an import cycle)
            return verdicts[name]
        verdicts[name] = True
        module = environment[name]
        try:
            _Examiner(self, name, module, environment, verdicts).examine()
        except _Refused as refused:
            verdicts[name] = False
            self.refused[name] = str(refused)
            if refused.permanent:
                self._permanent.add(name)
            else:
                self._refused_at[name] = len(self.shared)
            return False
        self.shared[name] = module
        self.refused.pop(name, None)
        return True

    def source_facts(self, path: str, text: str) -> _SourceFacts:
        facts = self._facts.get(path)
        if facts is None:
            facts = self._facts[path] = _source_facts(path, text)
        return facts


class _Examiner:
    """Applies the rule to one module (see the module docstring); raises :class:`_Refused`."""

    def __init__(
        self,
        sharing: ModuleSharing,
        name: str,
        module: types.ModuleType,
        environment: Mapping[str, types.ModuleType],
        verdicts: dict[str, bool],
    ) -> None:
        self.sharing, self.name, self.module = sharing, name, module
        self.environment, self.verdicts = environment, verdicts
        self.seen: set[int] = set()
        self.key = ""
        """The module attribute being examined."""
        self.constants: dict[str, str] = {}
        """Module attributes accepted as constants -> their type's name (checked unmutated)."""

    def examine(self) -> None:
        module = self.module
        if hasattr(module, "__path__"):
            raise _Refused("a package: the import system binds the submodules each function imports into it")
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if not origin or not str(origin).endswith(".py"):
            raise _Refused("no Python source to examine")
        for key, value in vars(module).items():
            if key.startswith("__") and key.endswith("__"):
                continue  # the import system's own attributes
            self.key = key
            self._value(value, key, constant=bool(_CONSTANT_NAME.match(key)))
        # The source last, and parsed only when it can matter (parsing every module of the layer
        # would cost more than sharing saves): for a word that can rebind names or read the
        # environment, or to see that the constants accepted above are never mutated.
        text = pathlib.Path(str(origin)).read_text(encoding="utf-8")
        if not self.constants and not any(word in text for word in _SOURCE_TRIGGERS):
            return
        facts = self.sharing.source_facts(str(origin), text)
        if facts.refusal is not None:
            raise _Refused(facts.refusal)
        for key, kind in self.constants.items():
            if key in facts.mutated:
                raise _Refused(f"{key} is a mutable {kind} (module state)")

    def _accepted_as_constant(self, value: Any) -> None:
        self.constants.setdefault(self.key, type(value).__name__)

    def _depends_on(self, home: str, what: str) -> None:
        """``home`` (a module name) must be shared for this module to be."""
        if home == self.name or not self.sharing.is_layer(home):
            return
        if not self.sharing._decide(home, self.environment, self.verdicts):
            permanent = home in self.sharing._permanent
            raise _Refused(f"{what} comes from {home}, which is not shared", permanent=permanent)

    def _value(self, value: Any, where: str, *, constant: bool = False) -> None:
        if _stateless_leaf(value, self.sharing):
            return
        if id(value) in self.seen:
            return
        self.seen.add(id(value))
        for check in (self._container, self._callable, self._declaration, self._instance):
            if check(value, where, constant):
                return
        raise _Refused(f"{where} is a {type(value).__module__}.{type(value).__qualname__} object (state)")

    def _container(self, value: Any, where: str, constant: bool) -> bool:
        if isinstance(value, tuple | frozenset):
            for index, item in enumerate(value):
                self._value(item, f"{where}[{index}]", constant=constant)
        elif isinstance(value, _CONTAINERS):
            if not constant:
                raise _Refused(f"{where} is a mutable {type(value).__name__} (module state)")
            self._accepted_as_constant(value)
            contents: Any = value
            items = contents.items() if isinstance(contents, dict) else enumerate(contents)
            for key, item in items:
                self._value(key, f"{where} key", constant=True)
                self._value(item, f"{where}[{key!r}]", constant=True)
        elif isinstance(value, types.MappingProxyType):
            for key, item in value.items():
                self._value(key, f"{where} key")
                self._value(item, f"{where}[{key!r}]")
        else:
            return False
        return True

    def _callable(self, value: Any, where: str, constant: bool) -> bool:
        if isinstance(value, types.FunctionType):
            self._function(value, where)
        elif isinstance(value, types.BuiltinFunctionType | types.BuiltinMethodType):
            bound = getattr(value, "__self__", None)
            if bound is not None and not isinstance(bound, types.ModuleType | type):
                self._value(bound, f"{where}.__self__")
        elif isinstance(value, classmethod | staticmethod):
            self._value(value.__func__, where)
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                if accessor is not None:
                    self._value(accessor, where)
        elif isinstance(value, functools.cached_property):
            self._value(value.func, where)  # caches on each instance, not on the class
        elif isinstance(value, functools.partial):
            self._value(value.func, where)
            self._value(value.args, where)
            self._value(value.keywords, where, constant=True)
        else:
            return False
        return True

    def _declaration(self, value: Any, where: str, constant: bool) -> bool:
        if isinstance(value, types.ModuleType):
            self._depends_on(value.__name__, where)
        elif isinstance(value, type):
            self._class(value, where)
        elif isinstance(value, enum.Enum):
            self._class(type(value), where)
            self._value(value.value, f"{where}.value")
        elif (
            isinstance(value, types.GenericAlias | types.UnionType)
            or type(value).__module__ in _TYPING_MODULES
        ):
            for part in ("__origin__", "__args__", "__metadata__", "__value__", "__bound__"):
                if hasattr(value, part):
                    self._value(getattr(value, part), f"{where}.{part}")
        elif isinstance(value, types.MemberDescriptorType | types.GetSetDescriptorType | _TUPLE_GETTER):
            pass  # a slot or field of a class: each instance's own storage
        else:
            return False
        return True

    def _instance(self, value: Any, where: str, constant: bool) -> bool:
        params = getattr(type(value), "__dataclass_params__", None)
        if (
            dataclasses.is_dataclass(value)
            and not isinstance(value, type)
            and getattr(params, "frozen", False)
        ):
            self._class(type(value), where)
            for item in dataclasses.fields(value):
                self._value(getattr(value, item.name), f"{where}.{item.name}")
            return True
        state = _plain_state(value)
        if constant and not self.sharing.is_layer(type(value).__module__) and state is not None:
            # A module constant of a class from outside the layer whose attributes are all immutable
            # (a configured json.JSONEncoder).
            self._accepted_as_constant(value)
            for key, item in state.items():
                self._value(item, f"{where}.{key}")
            return True
        return False

    def _function(self, function: types.FunctionType, where: str) -> None:
        home = str(function.__globals__.get("__name__", ""))
        if home != self.name:
            self._depends_on(home, where)
            if self.sharing.is_layer(home) and self.sharing.shared[home].__dict__ is not function.__globals__:
                raise _Refused(f"{where} is another copy's function", permanent=False)
            return
        for default in function.__defaults__ or ():
            self._value(default, f"{where} default")
        for default in (function.__kwdefaults__ or {}).values():
            self._value(default, f"{where} default")
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self._value(contents, f"{where} closure")
        wrapped = getattr(function, "__wrapped__", None)
        if wrapped is not None:
            self._value(wrapped, f"{where}.__wrapped__")

    def _class(self, cls: type, where: str) -> None:
        home = cls.__module__
        if not self.sharing.is_layer(home):
            return
        if home != self.name:
            self._depends_on(home, where)
            if _lookup(self.sharing.shared[home], cls.__qualname__) is not cls:
                raise _Refused(f"{where} is another copy's class", permanent=False)
            return
        # Names a base from outside the layer defines are that framework's hooks (pydantic's
        # model_config, enum's member maps): the framework's own business, not this module's state.
        hooks = {
            key
            for base in cls.__mro__[1:]
            if not self.sharing.is_layer(base.__module__)
            for key in vars(base)
        }
        for key, attribute in vars(cls).items():
            if (key.startswith("__") and key.endswith("__")) or key in hooks:
                continue
            if isinstance(attribute, enum.Enum) and type(attribute) is cls:
                self._value(attribute.value, f"{where}.{key}")
                continue
            # A class attribute is never a constant (methods can mutate it through ``self``), but a
            # named tuple's _field_defaults, its documented read-only API.
            self._value(
                attribute, f"{where}.{key}", constant=key == "_field_defaults" and issubclass(cls, tuple)
            )
        for base in cls.__mro__[1:]:
            if self.sharing.is_layer(base.__module__):
                self._class(base, f"{where} base {base.__qualname__}")


def _stateless_leaf(value: Any, sharing: ModuleSharing) -> bool:
    """An immutable value, or an object the whole process has one of anyway."""
    if isinstance(value, _IMMUTABLE_VALUES) and not isinstance(value, enum.Enum):
        return True
    if type(value) is object:
        return True  # a bare sentinel: no attributes at all
    if isinstance(value, logging.Logger) and logging.getLogger(value.name) is value:
        return True  # the logging module's registry holds one logger per name for the whole process
    return _outside_object(value, sharing)  # every copy of the module binds this same object already


def _outside_object(value: Any, sharing: ModuleSharing) -> bool:
    """``value`` is a named object of a module outside the layer (``urllib.parse.urlsplit``): the
    process has one of it, whichever copy of a layer module binds it."""
    home = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(home, str) or not isinstance(qualname, str) or sharing.is_layer(home):
        return False
    module = sys.modules.get(home)
    return module is not None and _lookup(module, qualname) is value


def _plain_state(value: Any) -> dict[str, Any] | None:
    """The attributes of an object that keeps them all in its ``__dict__`` (no slots), else None."""
    if any("__slots__" in vars(cls) for cls in type(value).__mro__[:-1]):
        return None
    state = getattr(value, "__dict__", None)
    return state if isinstance(state, dict) else None


def _lookup(module: types.ModuleType, qualname: str) -> Any:
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


class _SharedLoader(importlib.abc.Loader):
    """Hands an execution environment the shared module instead of executing its source again."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set the lookup's spec: keep the module's own


class _SharedModuleFinder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path`` while an execution environment is in place (see
    :meth:`~.awslambda.FunctionRegistry.execution_environment`)."""

    def __init__(self, sharing: ModuleSharing) -> None:
        self.sharing = sharing

    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        module = self.sharing.shared.get(fullname)
        if module is None:
            return None
        origin = module.__spec__.origin if module.__spec__ is not None else None
        return importlib.machinery.ModuleSpec(fullname, _SharedLoader(module), origin=origin)


def install_finder(finder: importlib.abc.MetaPathFinder) -> None:
    sys.meta_path.insert(0, finder)


def remove_finder(finder: importlib.abc.MetaPathFinder) -> None:
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(finder)
