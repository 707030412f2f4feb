"""The one error a loader raises for input it cannot read."""


class LoadError(Exception):
    """A model file could not be read; the message is one line saying why."""

    def __init__(self, reason: str, path: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class NotAModelError(LoadError):
    """Readable data that is not a model (e.g. a package.json found in a directory)."""
