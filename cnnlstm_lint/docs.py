"""Rule pages: rendered from each rule's docstring, written to rules/<code>.md.

The docstring holds What it does / Why is this bad? / Example / Use instead; the
Options section is generated from the rule's `options`, so a default lives in one place.

    python -m cnnlstm_lint.docs            # rewrite rules/*.md
    python -m cnnlstm_lint.docs --check    # exit 1 if a page is stale
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys

from .rules import REGISTRY, Rule


def render_rule(rule: type[Rule]) -> str:
    body = inspect.cleandoc(rule.__doc__ or "")
    head = [f"# {rule.code} {rule.name}", "",
            f"Default severity: **{rule.severity.value}**.", ""]
    return "\n".join(head) + body.strip() + "\n\n" + options_section(rule)


def options_section(rule: type[Rule]) -> str:
    """`## Options` from `rule.options`: name, type, default and help of each."""
    if not rule.options:
        return "## Options\nNone.\n"
    lines = ["## Options"]
    for name, option in rule.options.items():
        default = _literal(option.default)
        lines.append(f"- `{name}` ({option.type.__name__}, default `{default}`): {option.help}.")
    lines += ["", "In `pyproject.toml`:", "```toml",
              f"[tool.cnnlstm-lint.rules.{rule.name}]"]
    lines += [f"{name} = {_literal(option.default)}" for name, option in rule.options.items()]
    lines.append("```")
    return "\n".join(lines) + "\n"


def _literal(value) -> str:
    """A default as written in TOML (and JSON): 4096, 16.0, "text", true."""
    return json.dumps(value)


def pages() -> dict[str, str]:
    return {f"{code}.md": render_rule(rule) for code, rule in REGISTRY.items()}


def stale_pages(directory: str) -> list[str]:
    stale = []
    for name, text in pages().items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as fh:
                if fh.read() == text:
                    continue
        except FileNotFoundError:
            pass
        stale.append(path)
    return stale


def write_pages(directory: str) -> list[str]:
    os.makedirs(directory, exist_ok=True)
    written = stale_pages(directory)
    for path in written:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(pages()[os.path.basename(path)])
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlstm_lint.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", default="rules")
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages(args.directory)
        for path in stale:
            print(f"stale: {path} (run python -m cnnlstm_lint.docs)")
        return 1 if stale else 0
    for path in write_pages(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
