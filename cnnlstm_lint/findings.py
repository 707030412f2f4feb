"""Finding and Severity: what rules produce and reports render."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field

from .graph import Location


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
    remedy_id: str = ""  # machine-usable id the probe can apply
    location: Location | None = None

    @property
    def fingerprint(self) -> str:
        file = self.location.file if self.location else ""
        digest = hashlib.sha256(f"{self.code}\0{file}\0{self.node}".encode()).hexdigest()
        return digest[:16]

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
            "evidence": self.evidence,
            "fingerprint": self.fingerprint,
        }
