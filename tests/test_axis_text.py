"""How axes and shapes are written (cnnlstm_lint.axis_text), on small hand-made axes.

Each axis is built here from its parts, so these tests pin the text alone; what axes.py
makes of real layers is tested in test_axes.py, the pictures in test_picture.py.
"""

from __future__ import annotations

from cnnlstm_lint import axis_text
from cnnlstm_lint.axis_types import Axis, Source
from cnnlstm_lint.report.escape import visible

N = Source("input_layer", 0, "batch", None, "N")
T = Source("input_layer", 1, "time", 6, "T")
H = Source("max_pooling2d", 1, "spatial", 15, "H")
W = Source("max_pooling2d", 2, "spatial", 15, "W")
C = Source("conv2d", 3, "channel", 8, "C")
F = Source("dense", 1, "feature", 48, "F")


def whole(src: Source, role: str | None = None) -> Axis:
    return Axis(src.size, role or src.role, ((src, src.size),))


BATCH = whole(N)
PIXELS = Axis(225, "spatial", ((H, 15), (W, 15)))  # Reshape((225, 8)) of (15, 15, 8)
CHANNELS = whole(C)
# (8, 32, 64) -> (32, 512): 8 rows × the first 4 of 32 columns, then the rest
HP = Source("pool", 1, "spatial", 8, "H")
WP = Source("pool", 2, "spatial", 32, "W")
CC = Source("conv", 3, "channel", 64, "C")
SCRAMBLED_1 = Axis(32, "scrambled", ((HP, 8), (WP, 4)))
SCRAMBLED_2 = Axis(512, "scrambled", ((WP, 8), (CC, 64)))
ONE = Axis(1, "feature")  # a size-1 axis a Reshape adds: no source
UNKNOWN = Axis(None, "unknown", ((Source("lambda", 1, "unknown", None, "?"), None),))


# -- provenance ----------------------------------------------------------------------


def test_source_text_with_known_and_unknown_size():
    assert axis_text.source_text(H) == "H 15"
    assert axis_text.source_text(N) == "N ?"
    assert H.describe() == "H 15"  # Source.describe is the same text


def test_provenance_of_merged_pixels_groups_by_node():
    assert axis_text.provenance(PIXELS) == "H 15 × W 15 of max_pooling2d"
    everything = Axis(1800, "feature", PIXELS.parts + CHANNELS.parts)
    assert axis_text.provenance(everything) == "H 15 × W 15 of max_pooling2d × C 8 of conv2d"
    assert PIXELS.describe() == axis_text.provenance(PIXELS)  # Axis.describe delegates


def test_provenance_of_scrambled_axes_names_the_pieces():
    assert axis_text.provenance(SCRAMBLED_1) == "H 8 × 4 of W 32 of pool"
    assert axis_text.provenance(SCRAMBLED_2) == "8 of W 32 of pool × C 64 of conv"


def test_provenance_of_a_piece_with_no_whole_size():
    """Reshape((16, 225)) of a channels-last (15, 15, 16) map: a step of 225 values ends
    inside a row of W·C = 240, so its piece of W has no whole size."""
    axis = Axis(16, "scrambled", ((H, 15), (W, None)))
    assert axis_text.provenance(axis) == "H 15 × part of W 15 of max_pooling2d"


def test_provenance_joins_neighbouring_pieces_of_one_source():
    back = Axis(32, "spatial", ((WP, 4), (WP, 8)))  # a split undone by a merge
    assert axis_text.provenance(back) == "W 32 of pool"


def test_provenance_of_new_symbolic_and_unknown_axes():
    assert axis_text.provenance(ONE) == "a new axis"
    assert axis_text.provenance(BATCH) == "N ? of input_layer"
    assert axis_text.provenance(UNKNOWN) == "? ? of lambda"


def test_sizes_text():
    assert axis_text.sizes_text((BATCH, PIXELS, CHANNELS)) == "(None, 225, 8)"
    assert axis_text.sizes_text((BATCH, ONE, UNKNOWN)) == "(None, 1, None)"
    assert axis_text.sizes_text(()) == "()"
    assert axis_text.sizes_text(None) == "unknown"


def test_axis_json_lists_sources_once_in_memory_order():
    assert axis_text.axis_json(PIXELS) == {
        "size": 225, "role": "spatial",
        "origin": [{"node": "max_pooling2d", "axis": 1, "role": "spatial", "size": 15, "label": "H"},
                   {"node": "max_pooling2d", "axis": 2, "role": "spatial", "size": 15, "label": "W"}],
        "provenance": "H 15 × W 15 of max_pooling2d",
    }
    assert axis_text.axis_json(SCRAMBLED_2)["origin"][0]["label"] == "W"
    assert axis_text.axis_json(ONE) == {"size": 1, "role": "feature", "origin": [],
                                        "provenance": "a new axis"}


# -- the axes table ----------------------------------------------------------------------


def test_table_rows_align_size_and_role():
    rows = axis_text.table_rows("out", (BATCH, PIXELS, CHANNELS), visible)
    assert rows == ["    out[0]   None batch     = N ? of input_layer",
                    "    out[1]    225 spatial   = H 15 × W 15 of max_pooling2d",
                    "    out[2]      8 channel   = C 8 of conv2d"]
    assert axis_text.table_rows("out1", None, visible) == ["    out1: unknown shape"]


def test_table_rows_escape_the_layer_names_only():
    hostile = whole(Source("evil\n::error", 1, "feature", 4, "F"))
    assert axis_text.table_rows("out", (hostile,), visible) == [
        "    out[0]      4 feature   = F 4 of evil\\n::error"]
    assert axis_text.table_rows("out", (hostile,), str.upper)[0].endswith("= F 4 OF EVIL\n::ERROR")


# -- the pictures' notation ----------------------------------------------------------------


def test_notation_of_merged_pixels_as_space_and_as_time():
    assert axis_text.notation(PIXELS) == "S=225 ⟵ H×W"
    assert axis_text.notation(PIXELS, as_time=True) == "T=225 ⟵ H×W"
    assert axis_text.notation(CHANNELS) == "C=8"  # one whole source of its own role


def test_notation_of_a_symbolic_batch():
    assert axis_text.notation(BATCH) == "B"
    assert axis_text.notation(Axis(4, "batch", ((N, None),))) == "B=4"
    folded = Axis(None, "batch", ((N, None), (T, 6)))  # time folded into the batch
    assert axis_text.notation(folded) == "B ⟵ N×T"
    assert axis_text.notation(BATCH, as_time=True) == "T=? ⟵ N"  # batch read as time


def test_notation_of_scrambled_and_partial_axes():
    assert axis_text.notation(SCRAMBLED_1) == "32 ⟵ scrambled(H, W)"
    assert axis_text.notation(SCRAMBLED_2) == "512 ⟵ scrambled(W, C)"
    piece = Axis(6, "feature", ((F, 6),))  # Reshape((6, 8)) of a Dense(48)
    assert axis_text.notation(piece) == "F=6 ⟵ part of F"


def test_notation_of_size_one_and_unknown_axes():
    assert axis_text.notation(ONE) == "1"
    assert axis_text.notation(ONE, as_time=True) == "T=1"
    assert axis_text.notation(UNKNOWN) == "?=?"
    unlabelled = Axis(None, "feature", ((Source("x", 1, "feature", None, ""), None),))
    assert axis_text.notation(unlabelled) == "F=? ⟵ ?"


def test_shape_notation_marks_time_only_on_a_sequence():
    shape = (BATCH, PIXELS, CHANNELS)
    assert axis_text.shape_notation(shape) == "(B, S=225 ⟵ H×W, C=8)"
    assert axis_text.shape_notation(shape, time_at=1) == "(B, T=225 ⟵ H×W, C=8)"
    assert axis_text.shape_notation(shape, time_at=5) == axis_text.shape_notation(shape)
    assert axis_text.shape_notation((BATCH, PIXELS), time_at=1) == "(B, S=225 ⟵ H×W)"  # rank 2
    assert axis_text.shape_notation(None) == "(shape unknown)"


def test_notation_lines_give_role_and_provenance():
    assert axis_text.notation_lines((BATCH, PIXELS), 1) == [
        "B: batch, N ? of input_layer", "T=225 ⟵ H×W: spatial, H 15 × W 15 of max_pooling2d"]
    assert axis_text.notation_lines((ONE,)) == ["1: feature, a new axis"]
    assert axis_text.notation_lines(None) == ["shape unknown"]
