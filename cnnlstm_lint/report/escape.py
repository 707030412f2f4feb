"""Escaping for strings that come from a model file (layer, node and file names).

Such strings are untrusted (DESIGN.md, Rules): a layer named ``"x\\n::error ..."`` must
not start a line that GitHub Actions runs as a workflow command, an ESC must not drive the
terminal, ``<script>`` must not become markup. Each output takes them in at one place:

- `visible` for people and annotations (text, concise, GitHub, JUnit, the stderr lines, the
  axes table, the pictures): every control or invisible formatting character is shown as
  a Python-style escape (``\\n``, ``\\x1b``, ``\\u2028``, ``\\udcff``), so the result is
  one line of printable text that encodes as UTF-8 (`escaped` applies it to every string
  of a run's results). Backslashes are left as they are (Windows paths stay readable),
  so the escape is for the eye, not reversible; the JSON formats carry the exact text.
  Variants, each named where it is used: GitHub keeps newlines for the runner's own
  ``%0A`` (`keep`), JUnit first puts U+FFFD for what XML 1.0 cannot hold, DOT keeps a
  newline as a label line break (which `dot_quote` writes as ``\\n``);
- `json_text` for JSON, SARIF and GitLab: ``json.dumps`` escapes, plus ``\\uXXXX`` for
  the characters it would leave raw (DEL, C1, line separators, bidi controls, lone
  surrogates), so the document is valid UTF-8 and parses back to the exact original;
- `safe_streams` for stdout and stderr: what the stream's encoding cannot carry is
  written as ``\\uXXXX`` instead of raising.

Markup escaping stays with the standard library (``xml.etree``, ``html.escape``) and
`picture.dot_quote`; they get `visible` text. Ordinary names pass through unchanged.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
import sys
from typing import Callable

# What a terminal, a CI log or a line-oriented parser could act on, or what hides text:
# C0 controls, DEL, C1 controls (NEL U+0085 among them), the Unicode line and paragraph
# separators, bidi marks, embeddings, overrides and isolates (Trojan Source), invisible
# characters (zero-width space, word joiner, BOM, tag characters), the noncharacters XML
# cannot hold, and lone surrogates (from "\\ud800" escapes in JSON, or os.fsdecode of a
# file name that is not UTF-8). ZWNJ and ZWJ stay: scripts and emoji need them.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
                    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff"
                    "\U000e0000-\U000e007f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(text: object, keep: str = "") -> str:
    """`text` as one line of printable characters: unsafe ones as visible escapes.

    `keep`: unsafe characters to leave for the caller's own escaping (the GitHub format
    writes newlines as the runner's %0A, which its annotations show as line breaks)."""
    text = text if isinstance(text, str) else str(text)
    if keep:
        return UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return UNSAFE.sub(_escape, text)


Escape = Callable[[str], str]


def _tree(value, escape: Escape):
    """`escape` on every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {_tree(k, escape): _tree(v, escape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_tree(v, escape) for v in value)
    return value


def escaped_finding(f, escape: Escape = visible):
    """A copy of a Finding with every shown string escaped (its location, and so its
    fingerprint, unchanged)."""
    return dataclasses.replace(
        f, code=escape(f.code), name=escape(f.name), message=escape(f.message),
        node=escape(f.node), related=[escape(r) for r in f.related],
        evidence=_tree(f.evidence, escape), remedy=escape(f.remedy))


def escaped(results: list, escape: Escape = visible) -> list:
    """Copies of a run's FileResults for a renderer that prints them as they are: path,
    error, notes, skipped-rule reasons and every finding string escaped."""
    return [dataclasses.replace(
        r, path=escape(r.path), error=None if r.error is None else escape(r.error),
        findings=[escaped_finding(f, escape) for f in r.findings],
        notes=[escape(n) for n in r.notes], skipped=[escape(s) for s in r.skipped])
        for r in results]


# Characters json.dumps(ensure_ascii=False) writes raw although they are unsafe to print
# or to encode (C0 it already escapes). Outside strings JSON text is ASCII, so every match
# lies in a string, where \uXXXX means the same character.
_JSON_RAW = re.compile(UNSAFE.pattern.replace("\x00-\x1f", ""))


def json_text(doc: object, **kwargs) -> str:
    """``json.dumps(doc, ensure_ascii=False, **kwargs)`` with unsafe characters escaped:
    readable non-ASCII names stay as they are, and the text always encodes as UTF-8."""
    text = json.dumps(doc, ensure_ascii=False, **kwargs)
    return _JSON_RAW.sub(lambda m: _u_escape(m.group()), text)


def _u_escape(ch: str) -> str:
    """``\\uXXXX``, as JSON spells any character."""
    code = ord(ch)
    if code > 0xFFFF:  # a surrogate pair, as JSON spells a character beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


STREAM_ERRORS = "cnnlstm-lint-escape"


def _stream_escape(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: each character the stream cannot encode as ``\\uXXXX``
    (a surrogate pair beyond the BMP), the one escape that reads the same in text and
    stays valid inside a JSON string (backslashreplace's ``\\xd7`` would not)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start:error.end]
    return "".join(map(_u_escape, text)), error.end


codecs.register_error(STREAM_ERRORS, _stream_escape)


def safe_streams() -> None:
    """Make stdout and stderr write what they cannot encode as ``\\uXXXX`` escapes instead
    of raising (a terminal that is not UTF-8, a stray surrogate): no report is lost."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=STREAM_ERRORS)
            except (ValueError, OSError):  # a closed or detached stream
                pass


__all__ = ["UNSAFE", "escaped", "escaped_finding", "json_text", "safe_streams", "visible"]
