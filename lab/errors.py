"""The one exception type that reaches a person: its message says what to change."""


class LabError(Exception):
    """A problem the user can fix. ``str(error)`` is one clear sentence that names the thing to change."""
