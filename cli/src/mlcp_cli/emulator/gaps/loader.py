"""One botocore data loader for every session in local mode.

Not an AWS behaviour: a cost of running many "execution environments" in one process. Each boto3
``Session`` builds its own botocore ``Loader``, which parses a service's model (SageMaker's is
megabytes of JSON) again for its first client. The control plane creates sessions per principal and
per function (Powertools' idempotency layer makes its own), so a scenario parsed the same models
dozens of times. Loaders only read the shipped data files, and botocore already hands one loaded
model to every client of a session, so sharing a loader between sessions changes nothing they see.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import botocore.loaders


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
