"""Read the model config out of a Keras file without Keras: `.keras` zip, HDF5, JSON.

Only the config is read: no weights, no datasets, nothing unpickled or imported.
"""

from __future__ import annotations

import json
import zipfile

from .errors import LoadError

MAX_CONFIG_BYTES = 64 * 1024**2
MAX_ZIP_MEMBERS = 10_000
MAX_INT_DIGITS = 32


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise LoadError(f"an integer in the config has over {MAX_INT_DIGITS} digits")
    return int(text)


def parse_json(data: bytes | str, what: str) -> dict:
    try:
        value = json.loads(data, parse_int=_bounded_int)
    except RecursionError:
        raise LoadError(f"{what} is nested too deeply") from None
    except UnicodeDecodeError:
        raise LoadError(f"{what} is not UTF-8 text") from None
    except ValueError as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{what} is not valid JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(value, dict):
        raise LoadError(f"{what} is not a JSON object")
    return value


def read_keras_zip(path: str) -> dict:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise LoadError(f"zip has {len(members)} members, over {MAX_ZIP_MEMBERS}")
            info = next((m for m in members if m.filename == "config.json"), None)
            if info is None:
                raise LoadError("not a Keras model: the zip archive has no config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise LoadError(f"config.json declares {info.file_size} bytes, over the limit")
            with zf.open(info) as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
    except zipfile.BadZipFile as exc:
        raise LoadError(f"corrupt zip archive ({exc})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise LoadError(f"cannot read the zip archive ({exc})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("config.json is larger than it declares")
    return parse_json(data, "config.json")


def read_hdf5(path: str) -> dict:
    import h5py  # heavy: only for HDF5 files

    try:
        with h5py.File(path, "r") as fh:
            raw = fh.attrs.get("model_config")
    except Exception as exc:  # h5py raises OSError/KeyError/ValueError on bad files
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise LoadError(f"cannot read HDF5 file ({reason})") from None
    if raw is None:
        raise LoadError("HDF5 file has no model_config attribute (a weights-only file?)")
    if hasattr(raw, "tobytes") and not isinstance(raw, (bytes, str)):
        raw = raw.tobytes()
    if len(raw) > MAX_CONFIG_BYTES:
        raise LoadError("model_config attribute is over the size limit")
    return parse_json(raw, "the model_config attribute")


def read_json(path: str) -> dict:
    with open(path, "rb") as fh:
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("JSON file is over the size limit")
    return parse_json(data, "the file")
