"""Where each field of a YAML (or JSON) document is: field path -> line and column (1-based)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class Positions:
    """The value's position and, for a mapping entry, its key's position, by field path."""

    values: dict[Path, Position]
    keys: dict[Path, Position]

    def of(self, path: Path, *, key: bool = False) -> Position | None:
        """The position of ``path`` (its key when ``key``), else of its nearest located ancestor."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = (table if end == len(path) else self.values).get(path[:end])
            if found is not None:
                return found
        return None


def _at(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _key_name(node: yaml.Node) -> str:
    value = str(node.value)
    # YAML 1.1 reads an unquoted `on:` key as true; the model accepts that spelling of `on`.
    if node.tag == "tag:yaml.org,2002:bool" and value.lower() in {"on", "true", "yes", "y"}:
        return "on"
    return value


def locate(text: str) -> Positions:
    """Positions of every node of ``text`` (which must parse: call after ``yaml.safe_load``)."""
    positions = Positions({}, {})
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return positions
    pending: list[tuple[yaml.Node, Path]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        positions.values[path] = _at(node)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, _key_name(key))
                positions.keys[child] = _at(key)
                pending.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return positions
