"""Fill al: moto's service packages that a local stack does not use are imported when first used.

Not an AWS behaviour: a cost of moto's import graph in every local deploy (ADR 39). moto's
CloudFormation imports the models of sixteen services at import so that their resource types are
known (``moto/cloudformation/parsing.py``), and Step Functions' Batch integration imports Batch,
which imports EC2. EC2's models read every region's instance-type offerings and, in a class body,
build three botocore sessions that each parse EC2's API model; IoT's build a certificate;
API Gateway's import an OpenAPI validator. The control plane's template uses none of them, yet
they were about 0.5 s of every deploy.

:func:`defer_unused_packages` puts a :class:`LazyPackage` in ``sys.modules`` for each package of
:data:`LAZY_PACKAGES` (and its ``models``) that nothing has imported yet. A lazy package is the
package's own module object: its submodules import as usual (``from moto.batch.utils import
JobStatus`` loads only ``utils``), and the first use of any other name runs the package's own code
in it, after which it is the ordinary module. Inside :func:`deferring` (the import of moto's
CloudFormation and of the modules it imports), a ``*_backends`` name is handed out as a
:class:`DeferredBackends` that loads the package when first indexed: SSM's models bind
``ec2_backends`` at import and only index it for Run Command targets.

A resource type moto's CloudFormation looks up whose namespace belongs to a lazy package
(:data:`CFN_NAMESPACES`; a test checks the map against moto's models) loads that package first
and clears moto's caches of its model list (:func:`load_for_resource_type`, called by fill d), so
a template with, say, an ``AWS::EC2::VPC`` deploys exactly as before. Outside local mode, in a
process that ran it, moto's CloudFormation knows those types once :func:`load_all` has run.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

LAZY_PACKAGES: tuple[str, ...] = (
    "apigateway",
    "autoscaling",
    "batch",
    "datapipeline",
    "ec2",
    "ecs",
    "efs",
    "elb",
    "elbv2",
    "emr",
    "iot",
    "rds",
    "redshift",
    "route53",
)
"""moto packages (under ``moto.``) imported only for moto's CloudFormation resource types or
Step Functions' Batch integration, never used by the control plane's stacks."""

CFN_NAMESPACES: dict[str, str] = {
    "AWS::ApiGateway": "apigateway",
    "AWS::AutoScaling": "autoscaling",
    "AWS::Batch": "batch",
    "AWS::DataPipeline": "datapipeline",
    "AWS::EC2": "ec2",
    "AWS::ECS": "ecs",
    "AWS::EFS": "efs",
    "AWS::ElasticLoadBalancing": "elb",
    "AWS::ElasticLoadBalancingV2": "elbv2",
    "AWS::EMR": "emr",
    "AWS::IoT": "iot",
    "AWS::RDS": "rds",
    "AWS::Redshift": "redshift",
    "AWS::Route53": "route53",
}
"""CloudFormation namespace -> the lazy package whose models define its resource types."""

_LOCK = threading.RLock()
_DEFERRING = threading.local()


class LazyPackage(types.ModuleType):
    """A module in ``sys.modules`` whose own code runs on the first use of a name it lacks."""

    def __getattr__(self, name: str) -> Any:
        if name == "__path__":  # a plain module has none, loaded or not
            raise AttributeError(name)
        if name.endswith("_backends") and getattr(_DEFERRING, "active", False):
            return DeferredBackends(self.__name__, name)
        with _LOCK:
            if self.__dict__.get("_mlcp_loading"):  # its own code is running: partly initialised
                raise AttributeError(f"partially initialised module {self.__name__!r} has no {name!r}")
            if type(self) is LazyPackage:
                _load(self)
        return getattr(self, name)


def _load(module: LazyPackage) -> None:
    spec = module.__spec__
    if spec is None or spec.loader is None:  # _lazy() made it from a spec with a loader
        raise ImportError(f"lazy module {module.__name__!r} lost its spec")
    module.__dict__["_mlcp_loading"] = True
    deferring_before = getattr(_DEFERRING, "active", False)
    _DEFERRING.active = False  # a package's own code binds the real objects of what it imports
    try:
        spec.loader.exec_module(module)
    finally:
        _DEFERRING.active = deferring_before
        del module.__dict__["_mlcp_loading"]
    module.__class__ = types.ModuleType  # type: ignore[assignment]  # now the ordinary module
    _forget_cfn_models()


class DeferredBackends:
    """A ``<service>_backends`` of a lazy package, bound before the package ran: its first use loads it."""

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name

    def _target(self) -> Any:
        return getattr(sys.modules[self._module], self._name)

    def __getitem__(self, key: Any) -> Any:
        return self._target()[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._target()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def _lazy(name: str) -> LazyPackage | None:
    """A lazy module for ``name`` in ``sys.modules`` (its parent already there), or None if absent."""
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules[parent_name]
    spec = importlib.machinery.PathFinder.find_spec(name, parent.__path__)
    if spec is None or spec.loader is None:
        return None
    module = LazyPackage(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__package__ = name if spec.submodule_search_locations is not None else parent_name
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module
    setattr(parent, child, module)
    return module


def defer_unused_packages() -> list[str]:
    """Put a lazy module in ``sys.modules`` for each :data:`LAZY_PACKAGES` package (and its
    ``models``) not imported yet; returns their names. Idempotent."""
    importlib.import_module("moto")  # the parent of every lazy package
    deferred = []
    with _LOCK:
        for package in LAZY_PACKAGES:
            name = f"moto.{package}"
            if name in sys.modules:
                continue
            if _lazy(name) is not None:
                deferred.append(name)
                if _lazy(f"{name}.models") is not None:
                    deferred.append(f"{name}.models")
    return deferred


@contextlib.contextmanager
def deferring() -> Iterator[None]:
    """While it lasts, this thread's ``from moto.<lazy> import x_backends`` binds a
    :class:`DeferredBackends` instead of loading the package."""
    previous = getattr(_DEFERRING, "active", False)
    _DEFERRING.active = True
    try:
        yield
    finally:
        _DEFERRING.active = previous


def is_lazy(name: str) -> bool:
    """Whether ``sys.modules[name]`` is a lazy module not loaded yet."""
    return type(sys.modules.get(name)) is LazyPackage


def load(package: str) -> None:
    """Load lazy package ``moto.<package>`` and its models (nothing if already loaded)."""
    for name in (f"moto.{package}", f"moto.{package}.models"):
        module = sys.modules.get(name)
        if type(module) is LazyPackage:
            with _LOCK:
                if type(module) is LazyPackage:
                    _load(module)


def load_all() -> None:
    """Load every lazy package (moto's CloudFormation then knows all its resource types)."""
    for package in LAZY_PACKAGES:
        load(package)


def load_for_resource_type(resource_type: str) -> None:
    """Before moto's CloudFormation looks up ``resource_type``: load the lazy package whose models
    define its namespace's types."""
    namespace = "::".join(resource_type.split("::")[:2])
    package = CFN_NAMESPACES.get(namespace)
    if package is not None and is_lazy(f"moto.{package}.models"):
        load(package)


def _forget_cfn_models() -> None:
    """moto's CloudFormation caches its model list on first use: a package loaded since adds models."""
    parsing = sys.modules.get("moto.cloudformation.parsing")
    if parsing is None or type(parsing) is LazyPackage:
        return
    for cached in ("get_model_list", "get_model_map", "get_name_type_map"):
        function = getattr(parsing, cached, None)
        if function is not None and hasattr(function, "cache_clear"):
            function.cache_clear()
