"""Hooks the emulator patches into botocore and moto, installed and removed the same way.

The fault injector, the call recorder and the IAM enforcer each replace a few attributes (a method
on moto's ``BotocoreStubber``, botocore's ``_make_api_call``, a module's ``boto_client_for``) and
must put back exactly what they found, in reverse order, so that hooks stack and unstack cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self


@dataclass
class Patches:
    """Attributes replaced on classes or modules; :meth:`restore` puts the originals back, last
    replaced first."""

    _saved: list[tuple[Any, str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self._saved)

    def replace(self, owner: Any, name: str, replacement: Any) -> None:
        """Set ``owner.name`` to ``replacement``, remembering what was there."""
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def restore(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()


class Hook:
    """A hook installed with ``with`` (or :meth:`install` / :meth:`uninstall`): subclasses patch
    through ``self.patches`` in :meth:`_patch`; installing twice is a no-op."""

    patches: Patches

    def _patch(self) -> None:
        raise NotImplementedError

    def install(self) -> None:
        if not self.patches:
            self._patch()

    def uninstall(self) -> None:
        self.patches.restore()

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()
