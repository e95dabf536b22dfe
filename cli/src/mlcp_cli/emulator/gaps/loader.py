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
from typing import Any

import botocore.loaders


@functools.cache
def _loader(search_path_string: str | None) -> Any:
    return botocore.loaders.create_loader(search_path_string)


def fill_shared_loader(search_path_string: str | None = None) -> Any:
    """Replaces ``botocore.session.create_loader``: one loader per data path, shared."""
    return _loader(search_path_string)
