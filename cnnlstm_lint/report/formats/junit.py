"""JUnit XML for CI test-report views: a failing test case per finding.

A passing test case stands for each clean model file, an erroring one for each unreadable
file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ...engine import FileResult
from ..escape import escaped, visible
from ..human import finding_block

# Characters XML 1.0 cannot carry even escaped; a file name or message could hold them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _from_file(text: str) -> str:
    """A file-supplied string with every control character shown `visible` (`\\x01`),
    which XML can then carry; _clean stays the net for anything else."""
    return _clean(visible(text))


def _case(suite: ET.Element, path: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase",
                         {"classname": _clean(path), "name": _clean(name), "file": _clean(path),
                          "time": "0"})


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    shown = [r for r in escaped(results, _from_file) if r.status != "skipped"]
    tests = failures = errors = 0
    suite = ET.Element("testsuite", {"name": "cnnlstm-lint"})
    for result in shown:
        if result.status == "error":
            case = _case(suite, result.path, "lint")
            error = ET.SubElement(case, "error", {"message": _clean(result.error or "unreadable"),
                                                  "type": "unreadable-model"})
            error.text = _clean(f"{result.path}: could not be read: {result.error}")
            tests += 1
            errors += 1
            continue
        if not result.findings:
            _case(suite, result.path, "lint")
            tests += 1
            continue
        for f in result.findings:
            case = _case(suite, result.path, f"{f.code}:{f.node}")
            failure = ET.SubElement(case, "failure", {
                "message": _clean(f"{f.code} [{f.severity.value}] {f.name}: {f.message}"),
                "type": f.code})
            details = [line.removeprefix("  ") for line in finding_block(result.path, f)]
            failure.text = _clean("\n".join(details))
            tests += 1
            failures += 1
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors),
              "skipped": "0", "time": "0"}
    suite.attrib.update(counts)
    root = ET.Element("testsuites", {"name": "cnnlstm-lint", **counts})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
