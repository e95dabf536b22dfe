"""One botocore data loader for every session in local mode, and botocore's other read-only
artefacts built once: service models, client operation methods, event-name aliases and handler
signatures (ADR 31, ADR 33).

Not an AWS behaviour: a cost of running many "execution environments" in one process. Each boto3
``Session`` builds its own botocore ``Loader``, which parses a service's model (SageMaker's is
megabytes of JSON) again for its first client. The control plane creates sessions per principal and
per function (Powertools' idempotency layer makes its own), so a scenario parsed the same models
dozens of times. Loaders only read the shipped data files, and botocore already hands one loaded
model to every client of a session, so sharing a loader between sessions changes nothing they see.
The same holds for the other fills here: each memoises a pure function of read-only inputs, while
every session and client keeps its own credentials, configuration, endpoint and event hooks.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any

import botocore.loaders

from mlcp_cli.emulator.gaps.state import _call_original


@functools.cache
def _loader(search_path_string: str | None) -> Any:
    return botocore.loaders.create_loader(search_path_string)


def fill_shared_loader(search_path_string: str | None = None) -> Any:
    """Replaces ``botocore.session.create_loader``: one loader per data path, shared."""
    return _loader(search_path_string)


_SERVICE_MODELS: dict[tuple[int, str], tuple[Any, Any]] = {}
_SERVICE_MODELS_LOCK = threading.Lock()


def fill_shared_service_model(self: Any, service_name: str, api_version: str | None = None) -> Any:
    """Replaces ``botocore.client.ClientCreator._load_service_model``: one ``ServiceModel`` per
    loaded model, shared by every client built from it.

    botocore wraps the (shared, cached) model JSON in a new ``ServiceModel`` for each client, then
    builds an ``OperationModel`` for every operation of it (SageMaker has hundreds): about 30 ms per
    client, and each function's execution environment builds its own clients. A ``ServiceModel``
    is read-only once built (its caches memoise pure functions of the JSON), which is why botocore
    lets the threads using one client share it; sharing it between clients changes nothing they see.
    """
    from botocore.model import ServiceModel

    json_model = self._loader.load_service_model(service_name, "service-2", api_version=api_version)
    key = (id(json_model), service_name)
    with _SERVICE_MODELS_LOCK:
        found = _SERVICE_MODELS.get(key)
        if found is None or found[0] is not json_model:  # an id reused after its model went away
            found = _SERVICE_MODELS[key] = (json_model, ServiceModel(json_model, service_name=service_name))
    return found[1]


_CLIENT_METHODS: dict[int, tuple[Any, dict[str, Any]]] = {}


def fill_shared_client_methods(self: Any, service_model: Any) -> dict[str, Any]:
    """Replaces ``botocore.client.ClientCreator._create_methods``: one set of operation methods
    per ``ServiceModel``, reused by every client class built from it.

    botocore builds a new client class for every client, with a new function per operation
    (SageMaker has hundreds, each with its own lazy docstring): about 4 ms a SageMaker client.
    The functions only close over the operation's names and the (shared, read-only) service
    model; each class still gets its own attribute dict (a copy), which the
    ``creating-client-class`` handlers extend, and each client its own event hooks.
    """
    key = id(service_model)
    with _SERVICE_MODELS_LOCK:
        found = _CLIENT_METHODS.get(key)
        if found is None or found[0] is not service_model:
            methods = _call_original(_client_creator(), "_create_methods", self, service_model)
            found = _CLIENT_METHODS[key] = (service_model, methods)
    return dict(found[1])


def _client_creator() -> Any:
    from botocore.client import ClientCreator

    return ClientCreator


_ACCEPTS_KWARGS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def fill_memoized_accepts_kwargs(func: Any) -> bool:
    """Replaces ``botocore.hooks.accepts_kwargs``: whether a handler takes ``**kwargs``, read
    once per function instead of at every registration.

    botocore checks it with ``inspect.getfullargspec`` for each of the ~130 handlers every new
    session registers, and again for each client's own: a third of a session's creation. A
    function's signature does not change, and a bound method accepts what its function does.
    """
    from botocore.compat import accepts_kwargs

    target = getattr(func, "__func__", func)
    try:
        return _ACCEPTS_KWARGS[target]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable: not cached
        return bool(accepts_kwargs(func))
    answer = _ACCEPTS_KWARGS[target] = bool(accepts_kwargs(func))
    return answer


_ALIASED_EVENTS: dict[str, str] = {}


def fill_shared_event_aliases(self: Any, event_name: str) -> str:
    """Replaces ``botocore.hooks.EventAliaser._alias_event_name``: one cache of botocore's
    standard event aliases for every emitter.

    Each session's emitter, and the copy every client makes of it, starts with an empty cache and
    works out each event name's alias again (a scan of every alias): a pure function of the name
    for emitters with botocore's standard aliases, which is every emitter here. Emitters with
    other aliases keep their own cache.
    """
    from botocore.hooks import EventAliaser
    from botocore.utils import EVENT_ALIASES

    if self._event_aliases is not EVENT_ALIASES and self._event_aliases != EVENT_ALIASES:
        return str(_call_original(EventAliaser, "_alias_event_name", self, event_name))
    found = _ALIASED_EVENTS.get(event_name)
    if found is None:
        found = _ALIASED_EVENTS[event_name] = str(
            _call_original(EventAliaser, "_alias_event_name", self, event_name)
        )
    return found


@functools.cache
def _moto_loader() -> Any:
    from moto.core.loaders import create_loader

    return create_loader()


def fill_moto_reads_the_shared_model(service_name: str, model_name: str) -> dict[str, Any]:
    """Replaces ``moto.core.utils._load_service_model``: moto's serialisers read the model the
    clients' shared loader parsed, when the two would be the same.

    moto builds a loader of its own for each model it needs (botocore's files plus its
    "moto-extras"), so the first response of each service parsed that service's JSON a second
    time (SageMaker's is megabytes): a sixth of a play's CPU. When neither moto nor botocore has
    extras for that model, both loaders read the one same file, unchanged, and only ever read what
    they parsed: moto gets the dict the clients use. Otherwise, moto's own loader (one per process).
    """
    shared = _loader(None)
    moto_loader = _moto_loader()
    version = shared.determine_latest_version(service_name, model_name)
    if any(True for _ in moto_loader._find_extras(service_name, model_name, version)) or any(
        True for _ in shared._find_extras(service_name, model_name, version)
    ):
        found: dict[str, Any] = moto_loader.load_service_model(service_name, model_name)
        return found
    model: dict[str, Any] = shared.load_service_model(service_name, model_name)
    return model
