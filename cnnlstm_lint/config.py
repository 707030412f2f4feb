"""Configuration: `[tool.cnnlstm-lint]` in pyproject.toml, or cnnlstm-lint.toml /
.cnnlstm-lint.toml. The nearest file upward from each linted file wins (in one folder:
.cnnlstm-lint.toml, then cnnlstm-lint.toml, then pyproject.toml); `--config FILE`
overrides; `--isolated` ignores them all. Config is data: every key and type is checked.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass
from typing import Any

from .findings import Finding, Severity
from .rules import REGISTRY, by_code_or_name

CONFIG_NAMES = (".cnnlstm-lint.toml", "cnnlstm-lint.toml", "pyproject.toml")
ROLE_LETTERS = set("BNTHWDLCF")
MAX_CONFIG_BYTES = 1024**2  # a config is a few lines; a bigger file is not one
# Rules that a config found next to a model may not switch off: a model from a pull
# request can bring its own `.cnnlstm-lint.toml`. Only --config or the command line can.
UNSUPPRESSIBLE = ("CL900",)


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the file it came from; None: defaults
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    fail_on: str = "info"
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    per_layer_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    input_roles: tuple[tuple[str, str], ...] = ()
    rule_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    explicit: bool = False  # chosen with --config (trusted), not found next to a model

    @property
    def root(self) -> str:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def as_dict(self) -> dict:
        return {
            "config-file": self.path,
            "select": list(self.select) if self.select is not None else ["ALL"],
            "extend-select": list(self.extend_select),
            "ignore": list(self.ignore),
            "fail-on": self.fail_on,
            "per-file-ignores": {k: list(v) for k, v in self.per_file_ignores},
            "per-layer-ignores": {k: list(v) for k, v in self.per_layer_ignores},
            "input-roles": dict(self.input_roles),
            "rules": {code: dict(opts) for code, opts in self.rule_options},
        }


# -- reading --------------------------------------------------------------------------


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of rule codes")
    for code in value:
        if code.upper() != "ALL" and not any(c.startswith(code.upper()) for c in REGISTRY):
            raise ConfigError(f"{where}: `{key}` names no rule: {code!r}")
    return tuple(v.upper() for v in value)


def _glob_table(value: Any, key: str, where: str) -> tuple:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: `{key}` must be a table of glob = [codes]")
    return tuple(sorted((str(k), _codes(v, f"{key}.{k}", where)) for k, v in value.items()))


def _roles(value: Any, where: str) -> tuple:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: `input-roles` must be a table of input name = \"BTHWC\"")
    out = []
    for name, letters in value.items():
        if not isinstance(letters, str) or not letters or set(letters.upper()) - ROLE_LETTERS:
            raise ConfigError(f"{where}: `input-roles.{name}` must be letters from B T H W D "
                              "L C F, one per axis (e.g. \"BTFC\")")
        out.append((str(name), letters.upper().replace("B", "N")))
    return tuple(sorted(out))


def _rule_options(value: Any, where: str) -> tuple:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: `rules` must be a table of rule name = {{options}}")
    out = []
    for key, opts in value.items():
        rule = by_code_or_name(str(key))
        if rule is None:
            raise ConfigError(f"{where}: `rules.{key}` names no rule")
        if not isinstance(opts, dict):
            raise ConfigError(f"{where}: `rules.{key}` must be a table of options")
        checked = []
        for name, val in opts.items():
            option = rule.options.get(name)
            if option is None:
                known = ", ".join(rule.options) or "none"
                raise ConfigError(f"{where}: `rules.{key}.{name}` is not an option of "
                                  f"{rule.code} (options: {known})")
            if option.type is float and isinstance(val, int) and not isinstance(val, bool):
                val = float(val)
            if not isinstance(val, option.type) or isinstance(val, bool):
                raise ConfigError(f"{where}: `rules.{key}.{name}` must be {option.type.__name__}")
            checked.append((name, val))
        out.append((rule.code, tuple(sorted(checked))))
    return tuple(sorted(out))


_KEYS = {"select", "ignore", "extend-select", "fail-on", "per-file-ignores", "per-layer-ignores",
         "input-roles", "rules"}


def parse(table: dict, where: str) -> Config:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key `{unknown[0]}` (known: {', '.join(sorted(_KEYS))})")
    fail_on = table.get("fail-on", "info")
    if fail_on not in ("info", "warning", "error"):
        raise ConfigError(f"{where}: `fail-on` must be \"info\", \"warning\" or \"error\"")
    return Config(
        path=where,
        select=_codes(table["select"], "select", where) if "select" in table else None,
        ignore=_codes(table.get("ignore", []), "ignore", where),
        extend_select=_codes(table.get("extend-select", []), "extend-select", where),
        fail_on=fail_on,
        per_file_ignores=_glob_table(table.get("per-file-ignores", {}), "per-file-ignores", where),
        per_layer_ignores=_glob_table(table.get("per-layer-ignores", {}), "per-layer-ignores", where),
        input_roles=_roles(table.get("input-roles", {}), where),
        rule_options=_rule_options(table.get("rules", {}), where),
    )


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
        import tomli as tomllib
    return tomllib


def with_overrides(config: Config, options: dict | None = None,
                   input_roles: dict | None = None, where: str = "the options") -> Config:
    """`config` with rule options and input roles given in code (the Python API) on top,
    checked exactly as a config file's are."""
    if options:
        merged = {code: dict(values) for code, values in config.rule_options}
        for code, values in _rule_options(options, where):
            merged.setdefault(code, {}).update(values)
        config = dataclasses.replace(config, rule_options=tuple(
            sorted((code, tuple(sorted(values.items()))) for code, values in merged.items())))
    if input_roles:
        roles = dict(config.input_roles) | dict(_roles(input_roles, where))
        config = dataclasses.replace(config, input_roles=tuple(sorted(roles.items())))
    return config


def load(path: str, explicit: bool = False) -> Config | None:
    """The config in `path`; None for a pyproject.toml without [tool.cnnlstm-lint]."""
    tomllib = _toml()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES} bytes, too large for a config file")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except RecursionError:  # the TOML parser recurses into nested arrays and tables
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("cnnlstm-lint")
        if table is None:
            return None
    else:
        table = data.get("tool", {}).get("cnnlstm-lint", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.cnnlstm-lint] must be a table")
    config = parse(table, path)
    return dataclasses.replace(config, explicit=True) if explicit else config


class Resolver:
    """Finds (and caches) the config that applies to each linted file."""

    def __init__(self, config_file: str | None = None, isolated: bool = False):
        self.fixed = load(config_file, explicit=True) if config_file else None
        if config_file and self.fixed is None:
            raise ConfigError(f"{config_file}: has no [tool.cnnlstm-lint] table")
        self.isolated = isolated
        self._by_dir: dict[str, Config] = {}

    def for_path(self, path: str) -> Config:
        if self.fixed is not None:
            return self.fixed
        if self.isolated:
            return Config()
        directory = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        return self._find(directory)

    def _find(self, directory: str) -> Config:
        if directory in self._by_dir:
            return self._by_dir[directory]
        found = None
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                found = load(candidate)
                if found is not None:
                    break
        if found is None:
            parent = os.path.dirname(directory)
            found = Config() if parent == directory else self._find(parent)
        self._by_dir[directory] = found
        return found


# -- suppressions ---------------------------------------------------------------------


def _matches(code: str, selectors: tuple[str, ...]) -> bool:
    return any(s == "ALL" or code.startswith(s) for s in selectors)


def file_matches(pattern: str, path: str, root: str) -> bool:
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    if fnmatch.fnmatch(rel, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatch(os.path.basename(path), pattern)


def suppress(findings: list[Finding], path: str, config: Config) -> tuple[list[Finding], set[tuple[str, str]]]:
    """Drop the findings a per-file or per-layer ignore covers; return the entries used."""
    used: set[tuple[str, str]] = set()
    kept = []
    file_codes = [(pat, codes) for pat, codes in config.per_file_ignores
                  if file_matches(pat, path, config.root)]
    for finding in findings:
        if finding.code in UNSUPPRESSIBLE and not config.explicit:
            kept.append(finding)
            continue
        hit = next((("per-file-ignores", pat) for pat, codes in file_codes
                    if _matches(finding.code, codes)), None)
        if hit is None:
            names = {finding.node, str(finding.evidence.get("layer", finding.node))}
            hit = next((("per-layer-ignores", pat) for pat, codes in config.per_layer_ignores
                        if _matches(finding.code, codes)
                        and any(fnmatch.fnmatch(n, pat) for n in names)), None)
        if hit is None:
            kept.append(finding)
        else:
            used.add(hit)
    return kept, used


def at_or_above(finding: Finding, fail_on: str) -> bool:
    return finding.severity.rank >= Severity(fail_on).rank


def declared_ignores(config: Config) -> set[tuple[str, str]]:
    return {("per-file-ignores", p) for p, _ in config.per_file_ignores} | \
           {("per-layer-ignores", p) for p, _ in config.per_layer_ignores}


__all__ = ["Config", "ConfigError", "Resolver", "at_or_above", "declared_ignores", "load",
           "suppress", "with_overrides"]
