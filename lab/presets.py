"""Ready-made specs shipped as JSON files beside this module."""

from __future__ import annotations

import json
from pathlib import Path

from lab.errors import LabError

FOLDER = Path(__file__).with_name("presets")
ORDER = ("recommended", "seed-improved", "seed-first")


def names() -> list[str]:
    found = {path.stem for path in FOLDER.glob("*.json")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def load(name: str) -> dict:
    path = FOLDER / f"{name}.json"
    if not path.is_file():
        raise LabError(f"There is no preset called {name!r}; use one of {', '.join(names())}.")
    return json.loads(path.read_text(encoding="utf-8"))


def describe(name: str) -> str:
    return load(name).get("description", "")


def read_spec(path: Path) -> dict:
    """A spec object from a JSON file (``lab.spec.load_text`` says what it refuses); its contents are for check."""
    from lab.spec import MAX_SPEC_BYTES, load_text

    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise LabError(f"The spec file {path} is {path.stat().st_size:,} bytes; a spec is a few kilobytes, so "
                           "give the spec JSON that CNN Lab exports.")
        data = path.read_bytes()
    except OSError as error:
        raise LabError(f"Cannot read the spec file {path}: {error.strerror or error}; check the path.") from None
    return load_text(data, f"The spec file {path}")


def resolve(arg: str) -> dict:
    """A preset by name, or a spec read from a JSON file."""
    from lab.spec import show

    if arg in names():
        return load(arg)
    path = Path(arg)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_file = False
    if is_file:
        return read_spec(path)
    raise LabError(f"{show(arg)} is neither a preset ({', '.join(names())}) nor a spec JSON file; check the name.")
