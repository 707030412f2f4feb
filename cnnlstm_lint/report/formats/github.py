"""GitHub Actions workflow commands: one annotation per finding.

    ::warning file=models/m.keras,line=1,title=CL001 spatial-sequence::`lstm`: LSTM ...

Data is escaped as the Actions runner expects (`%` `\\r` `\\n`), properties additionally
`:` and `,`, so no path or message can end a command early or forge another one; before
that every other control character of every string is made `visible` (escape.py), so none
reaches the log.
"""

from __future__ import annotations

from ...engine import FileResult
from ...findings import Severity
from ..escape import visible
from ..paths import common_root, display_path, finding_text

_RUNNER = "\r\n"  # escaped by the runner's rules (%0D %0A), which it decodes back
COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """One workflow command; every string of it (file-supplied ones included) enters here."""
    props = ",".join(f"{key}={escape_property(visible(value, keep=_RUNNER))}"
                     for key, value in properties.items())
    return f"::{name} {props}::{escape_data(visible(message, keep=_RUNNER))}"


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    shown = [r for r in results if r.status != "skipped"]
    root = common_root([r.path for r in shown])
    lines: list[str] = []
    for result in shown:
        path = display_path(result.path, root)
        if result.status == "error":
            lines.append(command("error", result.error or "could not be read",
                                 file=path, line=1, title="unreadable model"))
            continue
        for f in result.findings:
            lines.append(command(COMMANDS[f.severity], finding_text(f),
                                 file=path, line=1, title=f"{f.code} {f.name}"))
        if verbose:
            lines += [command("notice", note, file=path, line=1, title="not judged")
                      for note in result.skipped]
    return "".join(line + "\n" for line in lines)
