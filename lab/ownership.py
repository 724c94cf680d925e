"""Whose run is it: owner ids, and who may see and change a run or a job.

An owner id is a short string the page gives each person: ``browser:<hash>`` for a browser that carries the
lab's cookie (the hash of its secret, never the secret itself), ``user:<email>`` when the server has sign-in.
A run keeps its owner and its ``shared`` flag in meta.json. A run without an owner (made before owners existed,
or by ``lab train`` on the command line) belongs to everyone, as on a laptop with one person.

Rules, the same for runs on disk and jobs in the queue:

- anyone sees and changes a run nobody owns;
- the owner sees and changes their own runs;
- others see a run only when its owner shared it, and never stop, rename, delete or unshare it.

``ANYONE`` is the viewer of the command line and of scripts: it sees and changes everything.
"""

from __future__ import annotations

import hashlib

from lab.errors import LabError
from lab.i18n import t

ANYONE = "*"  # the viewer that is not a person (the command line, scripts, tests)
OWNER_LIMIT = 200  # characters of an owner id kept from a meta.json


def browser_owner(secret: str) -> str:
    """The owner id of a browser holding ``secret``: a one-way hash, so meta.json never holds the secret."""
    return "browser:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:24]


def user_owner(email: str) -> str:
    """The owner id of a signed-in person."""
    return "user:" + email.strip().lower()


def owner_of(meta: dict) -> str | None:
    """The owner id in a run's meta.json, or None (everyone's) when it has none or an unusable one."""
    owner = meta.get("owner")
    return owner[:OWNER_LIMIT] if isinstance(owner, str) and owner.strip() else None


def shared_in(meta: dict) -> bool:
    return meta.get("shared") is True


def can_see(owner: str | None, shared: bool, viewer: str) -> bool:
    """Whether ``viewer`` sees a run or job of ``owner`` (shared or not)."""
    return viewer == ANYONE or owner is None or owner == viewer or shared


def can_change(owner: str | None, viewer: str) -> bool:
    """Whether ``viewer`` may stop, rename, delete or share a run or job of ``owner``."""
    return viewer == ANYONE or owner is None or owner == viewer


def check_change(owner: str | None, viewer: str) -> None:
    """LabError (one sentence) when ``viewer`` may not change what ``owner`` made."""
    if not can_change(owner, viewer):
        raise LabError(t("ownership.not_yours"))
