"""S3: fill g (every S3 EventBridge event gets its own id)."""

from __future__ import annotations

import copy
import uuid
from typing import Any


class FreshIdEventMessage(dict[str, Any]):
    """S3's EventBridge events each get their own ``id``.

    AWS: every event has a unique id (consumers deduplicate on it).
    moto: S3 builds its events from ``moto.events.utils._BASE_EVENT_MESSAGE`` and never sets the
    id, so every S3 event carries the same fixed id; idempotency keyed on it drops real uploads.
    Fill: replace that template with this dict, whose deep copy (what S3 takes) has a fresh id.
    put_events is unaffected (it sets the id itself).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        fresh = {key: copy.deepcopy(value, memo) for key, value in self.items()}
        fresh["id"] = str(uuid.uuid4())
        return fresh
