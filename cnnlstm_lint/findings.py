"""Finding and Severity: what rules produce and reports render."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field

from .graph import Location


def fingerprint(code: str, file_key: str, node: str) -> str:
    """16 hex digits of code + normalised relative path + node. surrogatepass: names from
    the file may hold lone surrogates, and the digest must still be defined."""
    text = f"{code}\0{file_key}\0{node}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:16]


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return ("info", "warning", "error").index(self.value)


@dataclass
class Finding:
    code: str
    name: str
    severity: Severity
    message: str  # one sentence, with sizes
    node: str  # the layer to look at
    related: list[str] = field(default_factory=list)  # layers that built its input
    evidence: dict = field(default_factory=dict)  # shapes with provenance
    remedy: str = ""  # concrete, in the model's own framework terms
    # Typed remedy ids, declared by the rule (Rule.remedies), that the probe can apply.
    remedies: tuple[str, ...] = ()
    location: Location | None = None
    # The file's path relative to its stable root (roots.stable_path), set by the engine;
    # the fingerprint depends on it, never on the path as typed or the file's bytes.
    file_key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.remedies, str):  # one id given positionally
            self.remedies = (self.remedies,) if self.remedies else ()
        self.remedies = tuple(self.remedies)

    @property
    def remedy_id(self) -> str:
        """The first (preferred) remedy id, or ""."""
        return self.remedies[0] if self.remedies else ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.code, self.file_key if self.file_key is not None
                           else (self.location.file if self.location else ""), self.node)

    def as_dict(self) -> dict:
        """The JSON contract of DESIGN.md, field for field."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "node": self.node,
            "related": list(self.related),
            "remedy": self.remedy,
            "evidence": {**self.evidence, "remedy_ids": list(self.remedies)} if self.remedies
                        else self.evidence,
            "fingerprint": self.fingerprint,
        }
