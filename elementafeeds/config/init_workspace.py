"""`ef init`: lay out a new workspace with a working example (the embedded sandbox site)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from elementafeeds.errors import UsageError

TEMPLATE = "template"


def init_workspace(target: Path, force: bool = False) -> list[Path]:
    """Copy the example workspace into `target`; refuse to overwrite unless `force`."""
    source = resources.files("elementafeeds.config") / TEMPLATE
    planned: list[tuple[Path, object]] = []

    def walk(node: object, rel: Path) -> None:
        for child in node.iterdir():  # type: ignore[attr-defined]
            name = ".gitignore" if child.name == "gitignore" else child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, rel / name)
            else:
                planned.append((rel / name, child))

    walk(source, Path())
    existing = [target / rel for rel, _ in planned if (target / rel).exists()]
    if existing and not force:
        raise UsageError(
            f"{existing[0]} already exists; ef init never overwrites files",
            hint="choose an empty directory, or pass --force to overwrite the example files",
        )
    written = []
    for rel, node in planned:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(node) as src:  # type: ignore[arg-type]
            shutil.copyfile(src, path)
        written.append(path)
    return written
