"""torch.export archives (`.pt2`, written by `torch.export.save`): a zip whose
`<root>/models/<name>.json` is the exported program's graph. The reader
(loaders/pt2_graph.py) is pure Python - zipfile and json, within the `.keras` reader's
zip and JSON bounds - and never imports torch or unpickles a member: with no native
parser to crash, it needs no isolated child. A `.pt2` is a zip like a `.keras`; it is
told apart by its first member, which torch writes under the archive's root folder."""

from __future__ import annotations

from ._frontend import FrontEnd

ZIP_MAGIC = b"PK\x03\x04"
# what torch.export.save puts under the root folder (pt2_archive/constants.py)
_ENTRIES = ("models", "data", "extra", "archive_format", "archive_version", "byteorder",
            ".data", "code", "constants", "xl_model_weights")


def looks_like_pt2(head: bytes) -> bool:
    """Whether a file's first bytes are a zip whose first member lies under a root folder
    as torch.export.save writes them (`<stem>/data/weights/weight_0`, `<stem>/models/...`);
    a `.keras` archive's members sit at the top (`metadata.json`, `config.json`)."""
    if not head.startswith(ZIP_MAGIC) or len(head) < 30:
        return False
    length = int.from_bytes(head[26:28], "little")
    root, _, rest = head[30:30 + length].decode("utf-8", "replace").partition("/")
    return bool(root) and rest.split("/")[0] in _ENTRIES


def _read(path: str):
    from ..pt2_graph import graph_from_pt2

    return graph_from_pt2(path)


FRONT_END = FrontEnd(
    name="pt2", title="torch.export archive", suffixes=(".pt2",),
    detect=lambda fh, head, size: looks_like_pt2(head),
    read=_read)
