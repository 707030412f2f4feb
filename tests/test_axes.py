"""Axis provenance (cnnlstm_lint.axes), without TensorFlow.

First the building blocks on hand-made axes (new_axis, merge, reshape,
aligned_permutation), then whole graphs built with tests/kbuild.py, loaded with
graph_from_config and annotated with propagate().
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

import cnnlstm_lint.axes
from cnnlstm_lint.axes import Axis, Source, aligned_permutation, merge, new_axis, propagate, reshape
from cnnlstm_lint.loaders import graph_from_config
from kbuild import (Functional, bidirectional, concatenate, conv1d, conv2d, conv2d_transpose,
                    conv3d, convlstm2d, cropping2d, dense, depthwise_conv2d, dropout, embedding,
                    flatten, gap2d, gru, lambda_layer, lstm, maxpool1d, maxpool2d, maxpool3d,
                    permute, repeat_vector, reshape as reshape_layer, sequential,
                    time_distributed, upsampling2d, zeropadding2d)


# ---------------------------------------------------------------------------------
# helpers


def annotate(model: dict):
    graph = graph_from_config(model, "<test>")
    propagate(graph)
    return graph


def axes(graph, node_id: str, out: int = 0) -> tuple[Axis, ...]:
    found = graph.tensor(node_id, out).axes
    assert found is not None, f"{node_id}: shape unknown ({graph.node(node_id).notes})"
    return found


def shape(graph, node_id: str, out: int = 0) -> tuple:
    return tuple(a.size for a in axes(graph, node_id, out))


def origin(axis: Axis) -> set[tuple[str, str]]:
    """(node, label) of each source axis: what a user reads in a message."""
    return {(s.node, s.label) for s in axis.origin}


def hwc(node="max_pooling2d", h=15, w=15, c=8, c_node="conv2d"):
    """A (H, W, C) feature map without the batch, as after conv2d -> max_pooling2d."""
    return (new_axis(node, 1, "spatial", h, "H"), new_axis(node, 2, "spatial", w, "W"),
            new_axis(c_node, 3, "channel", c, "C"))


# ---------------------------------------------------------------------------------
# building blocks


def test_new_axis_is_its_own_single_source():
    h = new_axis("max_pooling2d", 1, "spatial", 15, "H")
    assert (h.size, h.role) == (15, "spatial")
    assert h.origin == {Source("max_pooling2d", 1, "spatial", 15, "H")}
    assert h.describe() == "H 15 of max_pooling2d"
    assert Axis(7, "feature").describe() == "a new axis"


def test_merge_of_whole_axes_unions_origin_and_multiplies_size():
    h, w, c = hwc()
    pixels = merge([h, w])
    assert pixels.size == 225
    assert pixels.role == "spatial"  # only spatial axes: still spatial
    assert origin(pixels) == {("max_pooling2d", "H"), ("max_pooling2d", "W")}
    assert pixels.describe() == "H 15 × W 15 of max_pooling2d"

    everything = merge([h, w, c])
    assert everything.size == 1800
    assert everything.role == "feature"  # spatial + channel: a feature vector
    assert everything.describe() == "H 15 × W 15 of max_pooling2d × C 8 of conv2d"


def test_merge_with_unknown_size_is_unknown():
    t = new_axis("input_layer", 1, "time", None, "T")
    f = new_axis("input_layer", 2, "feature", 8, "F")
    assert merge([t, f]).size is None
    assert Source("input_layer", 1, "time", None, "T").describe() == "T ?"


def test_reshape_merging_pixels_into_steps():
    """(15, 15, 8) -> (225, 8): the 225 'steps' are the H×W pixels of the pool."""
    out = reshape(hwc(), (225, 8))
    assert [a.size for a in out] == [225, 8]
    steps, feats = out
    assert origin(steps) == {("max_pooling2d", "H"), ("max_pooling2d", "W")}
    assert steps.role != "scrambled"
    assert origin(feats) == {("conv2d", "C")}
    assert feats.role == "channel"


def test_reshape_with_minus_one_resolves_the_size():
    steps, feats = reshape(hwc(), (-1, 8))
    assert steps.size == 225
    assert origin(steps) == {("max_pooling2d", "H"), ("max_pooling2d", "W")}
    assert reshape(hwc(), (-1, 7)) is None  # 1800 is not a multiple of 7
    assert reshape(hwc(), (-1, -1)) is None  # two unknowns cannot be resolved
    assert reshape(hwc(), (10, 10)) is None  # 100 != 1800


def test_a_scramble_folded_into_the_batch_and_split_back_stays_scrambled():
    """tf2onnx writes a Dense on (N, 32, 128) as Reshape(-1, 128) -> MatMul -> Reshape back:
    a time axis scrambled upstream (H 8 x 4 of W 32) must come back scrambled, not as
    pixels, and the batch it was folded into must stay the batch."""
    n = new_axis("x", 0, "batch", None, "N")
    h, w = new_axis("pool", 1, "spatial", 8, "H"), new_axis("pool", 2, "spatial", 32, "W")
    c = new_axis("conv", 3, "channel", 16, "C")
    _, steps, feats = reshape((n, h, w, c), (-1, 32, 128))
    assert steps.role == feats.role == "scrambled"
    folded, _ = reshape((n, steps, feats), (-1, 128))
    assert folded.role == "batch"
    batch, back, _ = reshape((folded, feats), (-1, 32, 128))
    assert batch.role == "batch"
    assert back.role == "scrambled" and back.parts == steps.parts
    # a whole-axis merge is no scramble: (H 8, W 32) -> 256 pixels
    assert reshape((n, h, w, c), (-1, 256, 16))[1].role == "spatial"


def test_aligned_split_back_recovers_the_original_axes():
    merged = reshape(hwc(), (225, 8))
    h, w, c = reshape(merged, (15, 15, 8))
    assert (h.size, w.size, c.size) == (15, 15, 8)
    assert h.origin == {Source("max_pooling2d", 1, "spatial", 15, "H")}
    assert w.origin == {Source("max_pooling2d", 2, "spatial", 15, "W")}
    assert h.role == w.role == "spatial"
    assert h.describe() == "H 15 of max_pooling2d"


def test_aligned_grouping_keeps_time_leading():
    """Audio CRNN: (T 128, F 10, C 8) -> (128, 80): time stays time, features fold."""
    t, f, c = hwc("max_pooling2d_1", 128, 10, 8, "conv2d_1")
    steps, feats = reshape((t, f, c), (128, 80))
    assert steps.origin == t.origin and steps.role == "spatial"
    assert feats.size == 80 and origin(feats) == {("max_pooling2d_1", "W"), ("conv2d_1", "C")}


def test_misaligned_reshape_is_scrambled():
    """(8, 32, 64) -> (32, 512): each boundary cuts through an input axis."""
    h, w, c = hwc("pool", 8, 32, 64, "conv")
    first, second = reshape((h, w, c), (32, 512))
    assert (first.size, first.role) == (32, "scrambled")
    assert (second.size, second.role) == (512, "scrambled")
    # the first 32 "steps" are all 8 rows times the first 4 columns
    assert first.parts == ((h.parts[0][0], 8), (w.parts[0][0], 4))
    assert first.describe() == "H 8 × 4 of W 32 of pool"
    assert origin(second) == {("pool", "W"), ("conv", "C")}
    assert second.describe() == "8 of W 32 of pool × C 64 of conv"


def test_reshaping_a_scramble_back_restores_the_axes():
    h, w, c = hwc("pool", 8, 32, 16, "conv")
    back = reshape(reshape((h, w, c), (32, 128)), (8, 32, 16))
    assert [a.role for a in back] == ["spatial", "spatial", "channel"]
    assert [a.describe() for a in back] == ["H 8 of pool", "W 32 of pool", "C 16 of conv"]


def test_clean_split_of_one_axis_is_not_scrambled():
    feats = new_axis("dense", 1, "feature", 64, "F")
    a, b = reshape((feats,), (8, 8))
    assert a.role == b.role == "feature"
    assert a.size == b.size == 8
    assert a.origin == feats.origin


def test_size_one_axes_are_ignored_when_grouping():
    """Height pooled to 1: (1, 32, 16) -> (32, 16) reads width as steps, nothing mixed."""
    h, w, c = hwc("max_pooling2d_1", 1, 32, 16, "conv2d_1")
    steps, feats = reshape((h, w, c), (32, 16))
    assert steps.origin == w.origin and steps.role == "spatial"
    assert feats.origin == c.origin
    one, rest = reshape((w, c), (1, 512))
    assert one.size == 1 and not one.origin
    assert rest.size == 512 and origin(rest) == {("max_pooling2d_1", "W"), ("conv2d_1", "C")}


def test_global_pooling_keepdims_then_reshape():
    """GAP(keepdims=True) leaves (1, 1, C): the unit axes have no source and are skipped."""
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), gap2d(keepdims=True),
                            reshape_layer((1, 8))))
    assert shape(g, "global_average_pooling2d") == (None, 1, 1, 8)
    _, one, feats = axes(g, "reshape")
    assert one.size == 1
    assert feats.origin == {Source("conv2d", 3, "channel", 8, "C")}


def test_dynamic_time_survives_reshape_with_minus_one():
    t = new_axis("conv2d", 1, "spatial", None, "H")  # a spectrogram of any length
    f = new_axis("max_pooling2d", 2, "spatial", 20, "W")
    c = new_axis("conv2d", 3, "channel", 8, "C")
    steps, feats = reshape((t, f, c), (-1, 160))
    assert steps.size is None
    assert steps.origin == t.origin
    assert steps.role == "spatial"
    assert feats.size == 160


def test_aligned_permutation_proposes_width_first_for_a_crnn():
    h = new_axis("max_pooling2d_1", 1, "spatial", 8, "H")
    w = new_axis("max_pooling2d_1", 2, "spatial", 32, "W")
    c = new_axis("conv2d_1", 3, "channel", 16, "C")
    assert aligned_permutation((h, w, c), (32, 128)) == (2, 1, 3)
    # the proposal really does unscramble the reshape
    steps, feats = reshape((w, h, c), (32, 128))
    assert steps.origin == w.origin and feats.role != "scrambled"


def test_aligned_permutation_prefers_a_spatial_axis_as_time():
    c = new_axis("conv", 1, "channel", 32, "C")
    h = new_axis("pool", 2, "spatial", 8, "H")
    w = new_axis("pool", 3, "spatial", 32, "W")
    # (C, W, H) would also reshape cleanly to (32, 256), but its steps would be channels
    assert aligned_permutation((c, h, w), (32, 256)) == (3, 1, 2)


def test_aligned_permutation_none_when_nothing_helps():
    h = new_axis("p", 1, "spatial", 6, "H")
    w = new_axis("p", 2, "spatial", 10, "W")
    c = new_axis("c", 3, "channel", 7, "C")
    # 420 = 12 * 35: no order of (6, 10, 7) makes 12 a product of leading axes
    assert aligned_permutation((h, w, c), (12, 35)) is None


# ---------------------------------------------------------------------------------
# whole graphs: conv and pooling


@pytest.mark.parametrize("layer, expected", [
    (conv2d(8, 3), (None, 30, 30, 8)),
    (conv2d(8, 3, padding="same"), (None, 32, 32, 8)),
    (conv2d(4, 3, strides=2), (None, 15, 15, 4)),
    (conv2d(4, 3, padding="same", strides=2), (None, 16, 16, 4)),
    (conv2d(4, (3, 5)), (None, 30, 28, 4)),
    (conv2d(4, 3, dilation=2), (None, 28, 28, 4)),
    (maxpool2d(2), (None, 16, 16, 3)),
    (maxpool2d(3, strides=2), (None, 15, 15, 3)),
    (maxpool2d((1, 4)), (None, 32, 8, 3)),
    (maxpool2d(3, padding="same"), (None, 11, 11, 3)),
    (conv2d_transpose(4, 3, strides=2), (None, 65, 65, 4)),
    (conv2d_transpose(4, 3, strides=2, padding="same"), (None, 64, 64, 4)),
    (conv2d_transpose(4, 3, strides=2, output_padding=1), (None, 66, 66, 4)),
    (depthwise_conv2d(3, depth_multiplier=2), (None, 30, 30, 6)),
    (upsampling2d((2, 3)), (None, 64, 96, 3)),
    (zeropadding2d(((1, 2), (3, 4))), (None, 35, 39, 3)),
    (zeropadding2d(1), (None, 34, 34, 3)),
    (cropping2d(((1, 1), (2, 2))), (None, 30, 28, 3)),
])
def test_conv_and_pool_output_sizes(layer, expected):
    model = sequential((32, 32, 3), layer)
    name = model["config"]["layers"][-1]["config"]["name"]  # conv2d or max_pooling2d
    assert shape(annotate(model), name) == expected


def test_conv_makes_a_new_channel_axis_and_rebases_spatial_axes():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2)))
    batch, h, w, c = axes(g, "conv2d")
    assert batch.role == "batch"
    assert (h.role, w.role, c.role) == ("spatial", "spatial", "channel")
    assert c.origin == {Source("conv2d", 3, "channel", 8, "C")}
    assert h.origin == {Source("conv2d", 1, "spatial", 30, "H")}
    # pooling makes new spatial axes but keeps the conv's channels
    _, ph, pw, pc = axes(g, "max_pooling2d")
    assert origin(ph) == {("max_pooling2d", "H")} and ph.size == 15
    assert pc == c


def test_global_pooling_removes_spatial_axes():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), gap2d()))
    out = axes(g, "global_average_pooling2d")
    assert [a.size for a in out] == [None, 8]
    assert out[1].origin == {Source("conv2d", 3, "channel", 8, "C")}
    assert not any(a.role == "spatial" for a in out)


def test_flatten_origin_is_the_union():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), flatten()))
    _, flat = axes(g, "flatten")
    assert flat.size == 1800
    assert origin(flat) == {("max_pooling2d", "H"), ("max_pooling2d", "W"), ("conv2d", "C")}
    assert flat.role == "feature"
    assert flat.describe() == "H 15 × W 15 of max_pooling2d × C 8 of conv2d"


def test_flatten_channels_first_reads_channels_last():
    """Keras' Flatten(data_format="channels_first") moves channels last before flattening."""
    g = annotate(sequential((3, 32, 32), conv2d(8, 3, data_format="channels_first"),
                            flatten(data_format="channels_first")))
    assert shape(g, "conv2d") == (None, 8, 30, 30)
    _, flat = axes(g, "flatten")
    assert flat.size == 7200
    assert flat.describe() == "H 30 × W 30 × C 8 of conv2d"


def test_reshape_layer_time_origin_is_the_pools_pixels():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape_layer((225, 8)),
                            lstm(16)))
    _, steps, feats = axes(g, "reshape")
    assert steps.size == 225
    assert origin(steps) == {("max_pooling2d", "H"), ("max_pooling2d", "W")}
    assert steps.describe() == "H 15 × W 15 of max_pooling2d"
    assert origin(feats) == {("conv2d", "C")}


def test_reshape_layer_with_minus_one():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape_layer((-1, 8))))
    assert shape(g, "reshape") == (None, 225, 8)


def test_reshape_layer_misaligned_gives_scrambled_axes():
    g = annotate(sequential((32, 128, 1), conv2d(64, 3, padding="same"), maxpool2d(4),
                            reshape_layer((32, 512))))
    # the map is (8, 32, 64): H, W, C
    assert shape(g, "max_pooling2d") == (None, 8, 32, 64)
    _, first, second = axes(g, "reshape")
    assert first.role == second.role == "scrambled"
    assert first.describe() == "H 8 × 4 of W 32 of max_pooling2d"


def test_reshape_layer_target_that_does_not_fit_leaves_shape_unknown():
    g = annotate(sequential((32, 32, 3), conv2d(8, 3), reshape_layer((100, 9))))
    assert g.tensor("reshape").axes is None
    assert any("reshape target" in note for note in g.node("reshape").notes)


def test_permute_moves_axes_without_changing_them():
    g = annotate(sequential((32, 128, 1), conv2d(16, 3, padding="same"), maxpool2d(4),
                            permute((2, 1, 3)), reshape_layer((32, 128))))
    _, h, w, c = axes(g, "max_pooling2d")
    assert axes(g, "permute")[1:] == (w, h, c)
    _, steps, feats = axes(g, "reshape")
    assert steps.origin == w.origin and steps.size == 32
    assert feats.role != "scrambled" and origin(feats) == {("max_pooling2d", "H"), ("conv2d", "C")}


def test_dense_replaces_the_last_axis_with_a_new_feature_axis():
    g = annotate(sequential((20, 8), dense(64)))
    batch, t, f = axes(g, "dense")
    assert (t.size, t.role) == (20, "time")
    assert origin(t) == {("input_layer", "T")}
    assert f.origin == {Source("dense", 2, "feature", 64, "F")}


def test_model_inputs_are_seeded_by_rank():
    g = annotate(sequential((8, 32, 32, 3), dropout(0.1)))
    assert [a.role for a in axes(g, "input_layer")] == ["batch", "time", "spatial", "spatial",
                                                        "channel"]
    assert [s.label for a in axes(g, "input_layer") for s in a.origin] == list("NTHWC")
    g = annotate(sequential((20, 8), dropout(0.1)))
    assert [a.role for a in axes(g, "input_layer")] == ["batch", "time", "feature"]


# ---------------------------------------------------------------------------------
# TimeDistributed, recurrent layers and friends


def test_timedistributed_runs_inner_layers_per_step():
    g = annotate(sequential((8, 32, 32, 3), time_distributed(conv2d(8, 3)),
                            time_distributed(maxpool2d(2)), time_distributed(flatten()),
                            lstm(16)))
    time_in = axes(g, "input_layer")[1]
    assert shape(g, "time_distributed/conv2d") == (None, 8, 30, 30, 8)
    assert shape(g, "time_distributed_2/flatten") == (None, 8, 1800)
    # the time axis is carried through untouched: same size, role and origin
    for node in ("time_distributed/conv2d", "time_distributed_1/max_pooling2d",
                 "time_distributed_2/flatten"):
        assert axes(g, node)[1] == time_in
    assert g.node("time_distributed/conv2d").per_step == 1
    # and the flattened features do not include it
    feats = axes(g, "time_distributed_2/flatten")[2]
    assert ("input_layer", "T") not in origin(feats)
    assert origin(feats) == {("time_distributed_1/max_pooling2d", "H"),
                             ("time_distributed_1/max_pooling2d", "W"),
                             ("time_distributed/conv2d", "C")}


def test_timedistributed_nested_sequential():
    frame_cnn = sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), gap2d(), name="frame_cnn")
    g = annotate(sequential((8, 32, 32, 3), time_distributed(frame_cnn), lstm(16)))
    inner = "time_distributed/frame_cnn/global_average_pooling2d"
    assert shape(g, inner) == (None, 8, 8)
    _, t, c = axes(g, inner)
    assert origin(t) == {("input_layer", "T")}
    assert origin(c) == {("time_distributed/frame_cnn/conv2d", "C")}


def test_recurrent_output_without_and_with_sequences():
    f = Functional()
    x = f.input((20, 8))
    last = lstm(16)(x)
    seq = gru(12, return_sequences=True)(x)
    g = annotate(f.model(outputs=[last, seq]))
    assert shape(g, "lstm") == (None, 16)
    _, units = axes(g, "lstm")
    assert units.origin == {Source("lstm", 1, "feature", 16, "F")}
    batch, t, u = axes(g, "gru")
    assert shape(g, "gru") == (None, 20, 12)
    assert (t.role, u.role) == ("time", "feature")
    assert origin(t) == {("gru", "T")}


def test_bidirectional_concatenates_both_directions():
    f = Functional()
    x = f.input((20, 8))
    a = bidirectional(lstm(16, return_sequences=True))(x)
    b = bidirectional(lstm(16), merge_mode="sum")(x)
    forward, backward = bidirectional(lstm(16, return_sequences=True), merge_mode=None)(
        x, outputs=2)
    g = annotate(f.model(outputs=[a, b, forward, backward]))
    assert shape(g, "bidirectional") == (None, 20, 32)
    assert shape(g, "bidirectional_1") == (None, 16)
    # merge_mode=None: two outputs, one per direction
    assert shape(g, "bidirectional_2", 0) == shape(g, "bidirectional_2", 1) == (None, 20, 16)
    assert g.node("bidirectional").attrs["bidirectional"] is True
    assert g.node("bidirectional").op == "LSTM"


def test_concatenate_sums_widths():
    f = Functional()
    a = gap2d()(conv2d(16, 3)(f.input((32, 32, 3))))
    b = lstm(8)(f.input((20, 4)))
    g = annotate(f.model(outputs=dense(2)(concatenate()([a, b]))))
    _, joined = axes(g, "concatenate")
    assert joined.size == 24
    assert joined.role == "feature"
    assert origin(joined) == {("concatenate", "F")}


def test_concatenate_along_time_keeps_a_time_axis():
    f = Functional()
    a, b = f.input((20, 8)), f.input((10, 8))
    g = annotate(f.model(outputs=lstm(4)(concatenate(axis=1)([a, b]))))
    _, t, feats = axes(g, "concatenate")
    assert (t.size, t.role) == (30, "time")
    assert feats.size == 8
    assert t.describe() == "T 30 of concatenate"


def test_repeat_vector_makes_a_new_time_axis():
    g = annotate(sequential((16,), repeat_vector(5), lstm(4)))
    _, t, f = axes(g, "repeat_vector")
    assert (t.size, t.role) == (5, "time")
    assert origin(t) == {("repeat_vector", "T")}
    assert origin(f) == {("input_layer", "F")}


def test_embedding_turns_token_positions_into_time():
    g = annotate(sequential((50,), embedding(500, 16), conv1d(8, 3), maxpool1d(2), lstm(4)))
    _, t, f = axes(g, "embedding")
    assert (t.size, t.role, f.size, f.role) == (50, "time", 16, "feature")
    assert origin(t) == {("embedding", "T")}
    # Conv1D and pooling keep it a time axis (sizes change)
    _, t2, c2 = axes(g, "max_pooling1d")
    assert (t2.size, t2.role, c2.size) == (24, "time", 8)
    assert [s.label for s in t2.origin] == ["T"]


def test_conv1d_keeps_time_role_of_a_series():
    g = annotate(sequential((100, 4), conv1d(16, 5), maxpool1d(2)))
    assert shape(g, "max_pooling1d") == (None, 48, 16)
    assert axes(g, "conv1d")[1].role == "time"


def test_conv3d_keeps_time_and_pools_space():
    g = annotate(sequential((8, 32, 32, 1), conv3d(4, 3, padding="same"), maxpool3d((1, 2, 2)),
                            reshape_layer((8, 1024))))
    assert shape(g, "max_pooling3d") == (None, 8, 16, 16, 4)
    _, t, feats = axes(g, "reshape")
    assert t.role == "time" and t.size == 8
    assert not any(s.role == "time" for s in feats.origin)


def test_convlstm2d_consumes_time_and_keeps_space():
    g = annotate(sequential((8, 32, 32, 1), convlstm2d(4, 3, padding="same",
                                                       return_sequences=True)))
    _, t, h, w, c = axes(g, "conv_lstm2d")
    assert (t.size, h.size, w.size, c.size) == (8, 32, 32, 4)
    assert (t.role, h.role, c.role) == ("time", "spatial", "channel")
    g = annotate(sequential((8, 32, 32, 1), convlstm2d(4, 3)))
    assert shape(g, "conv_lstm2d") == (None, 30, 30, 4)


def test_dynamic_time_through_reshape_minus_one():
    """A spectrogram of any length: (None, 40, 1) -> ... -> Reshape((-1, 160)) -> GRU."""
    g = annotate(sequential((None, 40, 1), conv2d(8, 3, padding="same"), maxpool2d((1, 2)),
                            reshape_layer((-1, 160)), gru(16)))
    assert shape(g, "max_pooling2d") == (None, None, 20, 8)
    _, steps, feats = axes(g, "reshape")
    assert steps.size is None
    assert steps.role != "scrambled"
    assert origin(steps) == {("max_pooling2d", "H")}
    assert feats.size == 160


def test_opaque_lambda_passes_only_recorded_shapes():
    f = Functional()
    x = maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3))))
    known = lambda_layer(output_shape=(15, 15, 8), name="scale")(x)
    unknown = lambda_layer(name="mystery")(x)
    g = annotate(f.model(outputs=[reshape_layer((225, 8))(known),
                                  reshape_layer((225, 8))(unknown)]))
    assert g.node("scale").kind == "opaque"
    assert shape(g, "scale") == (None, 15, 15, 8)
    assert all(a.role == "unknown" for a in axes(g, "scale")[1:])  # roles are never guessed
    assert g.tensor("mystery").axes is None
    assert g.tensor("reshape_1").axes is None


# ---------------------------------------------------------------------------------
# layering: the value types stand alone, graph.py and axes.py do not import each other

_PACKAGE = os.path.dirname(os.path.abspath(cnnlstm_lint.axes.__file__))

_IMPORT_ORDER = r"""
import sys, types
# the package without its __init__ (which loads the loaders, and with them axes.py)
pkg = types.ModuleType("cnnlstm_lint")
pkg.__path__ = [sys.argv[1]]
sys.modules["cnnlstm_lint"] = pkg

def loaded():
    return sorted(m for m in sys.modules if m.startswith("cnnlstm_lint."))

import cnnlstm_lint.axis_types
assert loaded() == ["cnnlstm_lint.axis_types"], loaded()
import cnnlstm_lint.shape_expr
assert loaded() == ["cnnlstm_lint.axis_types", "cnnlstm_lint.shape_expr"], loaded()
import cnnlstm_lint.graph
assert "cnnlstm_lint.axes" not in loaded(), loaded()
import cnnlstm_lint.axes
from cnnlstm_lint.axes import Axis, Source, Sym
assert (Axis, Source, Sym) == (cnnlstm_lint.axis_types.Axis, cnnlstm_lint.axis_types.Source,
                               cnnlstm_lint.axis_types.Sym)
assert "onnx" not in sys.modules
print("ok")
"""


def test_axis_types_graph_and_axes_import_in_one_direction():
    proc = subprocess.run([sys.executable, "-c", _IMPORT_ORDER, _PACKAGE],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("module, forbidden", [
    ("axis_types.py", {"graph", "axes", "shape_expr", "loaders"}),
    ("shape_expr.py", {"graph", "axes", "loaders"}),
    ("graph.py", {"axes", "loaders"}),
    ("loaders/onnx_graph.py", {"axes"}),  # the loader hands data to axes.py, never calls it
])
def test_no_import_of_a_later_layer_even_for_type_checking(module, forbidden):
    path = os.path.join(_PACKAGE, module)
    imported = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom) and node.level:
            imported.add((node.module or "").split(".")[0])
            imported |= {alias.name for alias in node.names} if not node.module else set()
    assert not imported & forbidden, (module, imported & forbidden)
