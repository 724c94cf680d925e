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
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise LabError(f"Cannot read the spec file {path}: {error.strerror or error}; check the path.") from None
    except json.JSONDecodeError as error:
        raise LabError(f"The spec file {path} is not valid JSON (line {error.lineno}, column {error.colno}: "
                       f"{error.msg}); fix it or export it again.") from None
    if not isinstance(spec, dict):
        raise LabError(f"The spec file {path} must hold one JSON object with input_shape, layers and compile.")
    return spec


def resolve(arg: str) -> dict:
    """A preset by name, or a spec read from a JSON file."""
    if arg in names():
        return load(arg)
    path = Path(arg)
    if path.is_file():
        return read_spec(path)
    raise LabError(f"{arg!r} is neither a preset ({', '.join(names())}) nor a spec JSON file; check the name.")
