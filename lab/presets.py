"""Ready-made specs shipped as JSON files beside this module.

The shipped presets' descriptions are words in the catalogue (lab/locale/*/presets.po), so ``describe`` and
``load`` give them in the current language; a preset file added by hand may carry its own "description".
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.errors import LabError
from lab.i18n import number, t
from lab.spec import MAX_SPEC_BYTES, load_text
from lab.values import show

FOLDER = Path(__file__).with_name("presets")
DESCRIPTIONS = {  # the shipped presets, in the order the page lists them, with their description's id
    "recommended": "presets.recommended.description",
    "small-photos": "presets.small_photos.description",
    "seed-improved": "presets.seed_improved.description",
    "seed-first": "presets.seed_first.description",
}
ORDER = tuple(DESCRIPTIONS)


def names() -> list[str]:
    found = {path.stem for path in FOLDER.glob("*.json")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def load(name: str) -> dict:
    """The preset's spec, its description in the current language."""
    path = FOLDER / f"{name}.json"
    if not path.is_file():
        raise LabError(t("presets.unknown", name=repr(name), known=", ".join(names())))
    spec = json.loads(path.read_text(encoding="utf-8"))
    if name in DESCRIPTIONS:
        spec = {"name": spec.get("name", name), "description": t(DESCRIPTIONS[name]),
                **{key: value for key, value in spec.items() if key not in ("name", "description")}}
    return spec


def describe(name: str) -> str:
    """What the preset is for, in the current language."""
    if name in DESCRIPTIONS:
        return t(DESCRIPTIONS[name])
    return load(name).get("description", "")


def read_spec(path: Path) -> dict:
    """A spec object from a JSON file (``lab.spec.load_text`` says what it refuses); its contents are for check."""
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise LabError(t("presets.file_too_big", path=path, size=number(path.stat().st_size)))
        data = path.read_bytes()
    except OSError as error:
        raise LabError(t("presets.unreadable", path=path, reason=error.strerror or error)) from None
    return load_text(data, t("presets.the_file", path=path))


def resolve(arg: str) -> dict:
    """A preset by name, or a spec read from a JSON file."""
    if arg in names():
        return load(arg)
    path = Path(arg)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_file = False
    if is_file:
        return read_spec(path)
    raise LabError(t("presets.not_found", arg=show(arg), known=", ".join(names())))
