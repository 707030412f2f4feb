"""Rule cases as data (in the manner of sqlfluff's YAML rule fixtures).

CASES is a list of `Case(name, config, expected, options, input_roles)`: a Keras model
config built with tests/kbuild.py, the exact set of `(code, node)` findings it must
give, the rule options it is linted with (`{"CL004": {"max-features": 8192}}`, as a
`[tool.cnnlstm-lint.rules.CL004]` table sets them) and the roles of its ambiguous
inputs (`{"spec": "NTFC"}`, as `input-roles`). An empty `expected`: the model must lint
clean. test_rules.py collects them in one parametrized test, and compares every case's
findings, messages included, to tests/snapshots/rule_cases.json.

Every model that is not about CL006 carries some dropout, so that a clean result
really means "no architectural finding".
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kbuild import (Functional, add, avgpool2d, batchnorm, bidirectional, concatenate, conv1d,
                    conv2d, conv3d, convlstm2d, custom_layer, dense, dropout, embedding,
                    flatten, gap1d, gap2d, gru, lambda_layer, legacy, lstm, maxpool1d,
                    maxpool2d, maxpool3d, permute, repeat_vector, reshape, sequential,
                    simple_rnn, spatial_dropout2d, time_distributed)


class Case(NamedTuple):
    name: str
    config: dict
    expected: set[tuple[str, str]]
    options: dict[str, dict[str, Any]]  # rule code -> option -> value
    input_roles: dict[str, str]  # input name -> role letters


CASES: list[Case] = []


def case(name: str, expected: set[tuple[str, str]] | None = None, *,
         options: dict[str, dict[str, Any]] | None = None,
         input_roles: dict[str, str] | None = None):
    """Register the model a builder function returns under `name`."""
    def register(build):
        CASES.append(Case(name, build(), set(expected or ()), options or {}, input_roles or {}))
        return build
    return register


def spatial_reshape_functional(recurrent=None, target=(225, 8), name="cl001"):
    """conv (30,30,8) -> pool (15,15,8) -> Reshape(target) -> recurrent -> dropout -> dense."""
    f = Functional(name)
    x = f.input((32, 32, 3))
    x = maxpool2d(2)(conv2d(8, 3)(x))
    x = reshape(target)(x)
    x = (recurrent or lstm(16, name="lstm"))(x)
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


def crnn_trunk(f: Functional, input_shape=(32, 128, 1)):
    """OCR trunk: (32, 128, 1) -> (8, 32, 16) = H, W, C."""
    x = f.input(input_shape)
    x = maxpool2d(2)(conv2d(8, 3, padding="same")(x))
    return maxpool2d(2)(conv2d(16, 3, padding="same")(x))


def crnn(permuted: bool, target=(32, 128), rnn=None):
    f = Functional("crnn")
    x = crnn_trunk(f)
    if permuted:
        x = permute((2, 1, 3))(x)
    x = reshape(target)(x)
    x = (rnn or bidirectional(lstm(16, return_sequences=True), name="bilstm"))(x)
    return f.model(outputs=dense(20)(dropout(0.3)(x)))


def frame_cnn(name="frame_cnn"):
    return sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), gap2d(), name=name)


# =====================================================================================
# CL001 spatial-sequence


@case("cl001/reshape_pixels_to_steps", {("CL001", "lstm")})
def _():
    return spatial_reshape_functional()


@case("cl001/reshape_minus_one_gru", {("CL001", "gru")})
def _():
    return spatial_reshape_functional(gru(16), target=(-1, 8))


@case("cl001/bidirectional_lstm", {("CL001", "bilstm")})
def _():
    return spatial_reshape_functional(bidirectional(lstm(16), name="bilstm"))


@case("cl001/qa_conv_reshape_hw_c_lstm", {("CL001", "lstm")})
def _():
    # Q&A: "Conv2D -> Reshape((H*W, C)) -> LSTM" to silence the rank error.
    return sequential((28, 28, 1), conv2d(16, 3, activation="relu"), reshape((26 * 26, 16)),
                      lstm(32), dropout(0.5), dense(10))


@case("cl001/qa_sequential_of_cnn_and_lstm_models", {("CL001", "lstm_model/lstm")})
def _():
    # Q&A: Sequential([cnn_model, lstm_model]): the Reshape in one, the LSTM in the other.
    cnn_model = sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape((225, 8)),
                           name="cnn_model")
    lstm_model = sequential(None, lstm(16), dropout(0.3), dense(10), name="lstm_model")
    return sequential((32, 32, 3), cnn_model, lstm_model, name="stacked")


@case("cl001/nested_sequential_in_functional", {("CL001", "head/lstm")})
def _():
    f = Functional()
    x = reshape((225, 8))(maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3)))))
    y = sequential(None, lstm(16), dropout(0.3), dense(10), name="head")(x)
    return f.model(outputs=y)


@case("cl001/dynamic_image_size", {("CL001", "lstm")})
def _():
    return sequential((None, None, 3), conv2d(8, 3), reshape((-1, 8)), lstm(4), dropout(0.3),
                      dense(2))


@case("cl001/nested_functional_encoder", {("CL001", "lstm")})
def _():
    inner = Functional("encoder")
    encoder = inner.model(outputs=reshape((225, 8))(maxpool2d(2)(conv2d(8, 3)(
        inner.input((32, 32, 3), name="enc_in")))))
    f = Functional("outer")
    x = encoder(f.input((32, 32, 3), name="image"))
    return f.model(outputs=dense(2)(dropout(0.3)(lstm(4)(x))))


@case("cl001/near_miss_one_spatial_axis_as_time")
def _():
    # Reading rows as steps with (W, C) folded into features: one spatial axis is fine.
    return spatial_reshape_functional(target=(15, 120))


@case("cl001/near_miss_lambda_before_reshape_no_recorded_shape", {("CL900", "scale")})
def _():
    # An opaque layer hides the map: CL001 stays silent rather than guess; the Lambda's
    # stored bytecode itself is reported as unsafe content (CL900).
    f = Functional()
    x = maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3))))
    x = lambda_layer(name="scale")(x)
    x = lstm(16)(reshape((225, 8))(x))
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


@case("cl001/near_miss_lambda_before_reshape_recorded_shape", {("CL900", "scale")})
def _():
    # The file records the Lambda's output (15, 15, 8), but not what its axes mean.
    return sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2),
                      lambda_layer(output_shape=(15, 15, 8), name="scale"),
                      reshape((225, 8)), lstm(16), dropout(0.3), dense(10))


@case("cl001/near_miss_custom_layer_before_reshape")
def _():
    f = Functional()
    x = maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3))))
    x = custom_layer("Attention2D", "my_project.layers", name="attention")(x, shape=(15, 15, 8))
    x = lstm(16)(reshape((225, 8))(x))
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


# =====================================================================================
# CL002 channels-as-time


@case("cl002/gap_reshape_channels_to_steps", {("CL002", "lstm")})
def _():
    f = Functional()
    x = conv2d(16, 3)(maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3)))))
    x = reshape((16, 1))(gap2d()(x))
    x = lstm(8)(x)
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


@case("cl002/permute_conv1d_channels_to_steps", {("CL002", "lstm")})
def _():
    return sequential((100, 4), conv1d(16, 3), permute((2, 1)), lstm(8), dropout(0.3), dense(1))


@case("cl002/dense_reshaped_into_steps", {("CL002", "gru")})
def _():
    return sequential((32, 32, 3), conv2d(8, 3), gap2d(), dense(64), reshape((8, 8)),
                      gru(8, dropout=0.2), dense(10))


@case("cl002/permute_conv2d_channels_to_steps", {("CL002", "lstm")})
def _():
    return sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), permute((3, 1, 2)),
                      reshape((8, 225)), lstm(4), dropout(0.3), dense(2))


@case("cl002/near_miss_raw_vector_input_as_series")
def _():
    # A raw input vector reshaped to (N, 1) may well be a time series.
    return sequential((100,), reshape((100, 1)), lstm(8), dropout(0.3), dense(1))


@case("cl002/near_miss_repeat_vector_decoder")
def _():
    # RepeatVector makes real (decoder) steps from a pooled vector.
    return sequential((32, 32, 3), conv2d(8, 3), gap2d(), repeat_vector(10),
                      lstm(8, return_sequences=True), dropout(0.3),
                      time_distributed(dense(5)))


@case("cl002/near_miss_single_channel_step_left_to_cl005", {("CL005", "lstm")})
def _():
    # One channel moved onto the time axis is one step: CL005 reports it, not CL002 too.
    return sequential((100, 4), conv1d(1, 3), permute((2, 1)), lstm(8), dropout(0.3), dense(1))


@case("cl002/near_miss_conv1d_time_kept_on_axis_1")
def _():
    return sequential((100, 4), conv1d(16, 3), permute((1, 2)), lstm(8), dropout(0.3), dense(1))


# =====================================================================================
# CL003 missing-timedistributed


@case("cl003/reshape_clip_into_tall_image", {("CL003", "reshape")})
def _():
    f = Functional()
    x = reshape((128, 16, 1))(f.input((8, 16, 16, 1)))
    x = maxpool2d(2)(conv2d(4, 3, padding="same")(x))
    x = lstm(8)(reshape((64, 32))(x))
    return f.model(outputs=dense(5)(dropout(0.3)(x)))


@case("cl003/flatten_whole_clip", {("CL003", "flatten")})
def _():
    # The frames are mixed by Flatten + Dense; the 6 "steps" after it are Dense features,
    # a consequence of the merge: one cause, one finding (CL003, not also CL002).
    return sequential((6, 16, 16, 1), flatten(), dense(48), reshape((6, 8)), lstm(8),
                      dropout(0.3), dense(3))


@case("cl003/reshape_time_with_rows", {("CL003", "reshape")})
def _():
    # (T, H, W, 1) -> (T*H, W): each frame's rows become steps of their own.
    return sequential((8, 16, 16, 1), reshape((128, 16)), lstm(8), dropout(0.3), dense(3))


@case("cl003/qa_stacked_frames_into_conv2d", {("CL003", "reshape")})
def _():
    # Reshape((T*H, W, C)) to push a clip through a plain Conv2D.
    return sequential((8, 16, 16, 1), reshape((128, 16, 1)), conv2d(4, 3, padding="same"),
                      gap2d(), repeat_vector(4), lstm(8), dropout(0.3), dense(5))


@case("cl003/near_miss_reshape_keeps_frames")
def _():
    # (8, 16, 16, 1) -> (8, 256): frames stay the steps, each frame's pixels fold.
    return sequential((8, 16, 16, 1), reshape((8, 256)), lstm(8), dropout(0.3), dense(3))


@case("cl003/near_miss_series_encoder_flatten_repeat_vector")
def _():
    # A CNN-LSTM encoder-decoder for a series (machinelearningmastery's power forecast):
    # Flatten summarises the Conv1D's steps x channels, RepeatVector makes the decoder's
    # steps. No frames are stacked: no clip merge.
    return sequential((14, 1), conv1d(8, 3, activation="relu"), maxpool1d(2), flatten(),
                      repeat_vector(7), lstm(16, return_sequences=True), dropout(0.2),
                      time_distributed(dense(1)))


@case("cl003/near_miss_feature_clip_flatten_repeat_vector")
def _():
    # Per-frame features (already pooled) summarised the same way: clean.
    return sequential((6, 16, 16, 1), time_distributed(conv2d(4, 3)),
                      time_distributed(gap2d()), flatten(), repeat_vector(3), lstm(8),
                      dropout(0.3), dense(3))


@case("cl003/near_miss_clip_flattened_without_recurrence")
def _():
    # Mixing frames is this model's choice: there is no recurrent layer to mislead.
    return sequential((6, 16, 16, 1), flatten(), dense(48), dropout(0.3), dense(3))


@case("cl003/near_miss_flattened_clip_beside_a_recurrent_branch")
def _():
    # The clip is flattened in a branch that never reaches the LSTM.
    f = Functional()
    a = dense(48)(flatten()(f.input((6, 16, 16, 1), name="clip")))
    b = lstm(16)(f.input((20, 8), name="sequence"))
    return f.model(outputs=dense(3)(dropout(0.3)(concatenate()([a, b]))))


@case("cl003/near_miss_timedistributed_flatten")
def _():
    return sequential((6, 16, 16, 1), time_distributed(conv2d(4, 3)),
                      time_distributed(flatten()), lstm(8), dropout(0.3), dense(3))


# =====================================================================================
# CL004 oversized-recurrent-input


@case("cl004/qa_timedistributed_flatten_of_large_map", {("CL004", "lstm")})
@case("cl004/options_larger_max_features_accepts_it", options={"CL004": {"max-features": 8192}})
def _():
    # Q&A: TimeDistributed(Flatten()) of a whole conv map: 24*24*8 = 4608 per step.
    return sequential((4, 24, 24, 1), time_distributed(conv2d(8, 3, padding="same")),
                      time_distributed(flatten()), lstm(2), dropout(0.3), dense(2))


@case("cl004/bidirectional_gru_over_flattened_map", {("CL004", "bidirectional")})
def _():
    frame = sequential((32, 32, 3), conv2d(16, 3, padding="same"), flatten(), name="frame")
    return sequential((5, 32, 32, 3), time_distributed(frame), bidirectional(gru(8)),
                      dropout(0.3), dense(2))


@case("cl004/timedistributed_sequential_with_flatten", {("CL004", "lstm")})
def _():
    frame = sequential((64, 64, 3), conv2d(8, 3, padding="same"), flatten(), name="frame")
    return sequential((4, 64, 64, 3), time_distributed(frame), lstm(4), dropout(0.3), dense(2))


@case("cl004/near_miss_pooled_before_flatten")
@case("cl004/options_smaller_max_features_flags_it", {("CL004", "lstm")},
      options={"CL004": {"max-features": 256}})
def _():
    # 8*8*8 = 512 per step.
    return sequential((8, 32, 32, 3), time_distributed(conv2d(8, 3, padding="same")),
                      time_distributed(maxpool2d(4)), time_distributed(flatten()), lstm(16),
                      dropout(0.3), dense(5))


@case("cl004/near_miss_exactly_at_the_limit")
def _():
    # 16*16*16 = 4096: the limit itself is accepted.
    return sequential((4, 16, 16, 1), time_distributed(conv2d(16, 3, padding="same")),
                      time_distributed(flatten()), lstm(4), dropout(0.3), dense(2))


@case("cl004/near_miss_wide_input_features_not_pixels")
def _():
    # 5000 features per step, but they are the data's own features, not a feature map.
    return sequential((20, 5000), lstm(8), dropout(0.3), dense(2))


# =====================================================================================
# CL005 single-step-recurrence


@case("cl005/qa_gap_reshape_one_step", {("CL005", "lstm")})
def _():
    # Q&A: GlobalAveragePooling2D -> Reshape((1, C)) -> LSTM.
    f = Functional()
    x = gap2d()(maxpool2d(2)(conv2d(8, 3)(f.input((32, 32, 3)))))
    x = lstm(8)(reshape((1, 8))(x))
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


@case("cl005/qa_flatten_dense_reshape_one_step", {("CL005", "lstm")})
def _():
    # Q&A: Flatten -> Dense(64) -> Reshape((1, 64)) -> LSTM.
    return sequential((28, 28, 1), conv2d(4, 3), maxpool2d(2), flatten(), dense(64),
                      reshape((1, 64)), lstm(8), dropout(0.3), dense(10))


@case("cl005/repeat_vector_of_one", {("CL005", "gru")})
def _():
    return sequential((32, 32, 3), conv2d(8, 3), gap2d(), repeat_vector(1), gru(8),
                      dropout(0.3), dense(10))


@case("cl005/near_miss_two_steps")
def _():
    return sequential((2, 8), lstm(8), dropout(0.3), dense(1))


@case("cl005/near_miss_dynamic_length")
def _():
    return sequential((None, 8), lstm(8), dropout(0.3), dense(1))


# =====================================================================================
# CL006 no-dropout


@case("cl006/lrcn_without_dropout", {("CL006", "lstm")})
def _():
    return sequential((8, 32, 32, 3), time_distributed(frame_cnn()), lstm(16), dense(5))


@case("cl006/zero_rates_do_not_count", {("CL006", "lstm")})
def _():
    f = Functional()
    x = lstm(16, return_sequences=True, dropout=0.0, recurrent_dropout=0.0)(f.input((20, 8)))
    x = gru(8)(dropout(0.0)(x))
    return f.model(outputs=dense(2)(x))


@case("cl006/convlstm2d_without_dropout", {("CL006", "conv_lstm2d")})
def _():
    return sequential((8, 32, 32, 1), convlstm2d(4, 3, padding="same"), gap2d(), dense(5))


@case("cl006/near_miss_recurrent_dropout_only")
def _():
    return sequential((20, 8), lstm(16, recurrent_dropout=0.2), dense(2))


@case("cl006/near_miss_input_dropout_only")
def _():
    return sequential((20, 8), gru(16, dropout=0.1), dense(2))


@case("cl006/near_miss_kernel_regularizer")
def _():
    l2 = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
          "registered_name": None}
    return sequential((20, 8), lstm(16), dense(2, kernel_regularizer=l2))


@case("cl006/near_miss_spatial_dropout")
def _():
    return sequential((8, 32, 32, 3), time_distributed(conv2d(8, 3)),
                      time_distributed(spatial_dropout2d(0.2)), time_distributed(gap2d()),
                      lstm(16), dense(5))


@case("cl006/near_miss_no_recurrent_layer")
def _():
    return sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), gap2d(), dense(10))


# =====================================================================================
# CL007 scrambled-reshape


@case("cl007/crnn_reshape_without_permute", {("CL007", "bilstm")})
def _():
    return crnn(permuted=False)


@case("cl007/crnn_reshape_minus_one_gru", {("CL007", "gru")})
def _():
    return crnn(permuted=False, target=(32, -1), rnn=gru(16, return_sequences=True))


@case("cl007/scrambled_map_into_conv", {("CL007", "conv2d_1")})
def _():
    # (32, 32, 8) -> (64, 16, 8): half-rows stacked as rows, then convolved.
    return sequential((32, 32, 3), conv2d(8, 3, padding="same"), reshape((64, 16, 8)),
                      conv2d(8, 3), gap2d(), dropout(0.3), dense(10))


@case("cl007/inside_timedistributed", {("CL007", "time_distributed_3/lstm")})
def _():
    # Per frame: (8, 32, 16) -> (32, 128) without Permute, read by a per-frame LSTM.
    return sequential((4, 32, 128, 1), time_distributed(conv2d(16, 3, padding="same")),
                      time_distributed(maxpool2d(4)), time_distributed(reshape((32, 128))),
                      time_distributed(lstm(8)), lstm(4), dropout(0.3), dense(2))


@case("cl007/near_miss_crnn_with_permute_minus_one")
def _():
    return crnn(permuted=True, target=(32, -1), rnn=gru(16, return_sequences=True))


@case("cl007/near_miss_scrambled_into_dense_only")
def _():
    # A scrambled view that only a Flatten/Dense reads loses nothing.
    f = Functional()
    x = reshape((32, 128))(crnn_trunk(f))
    x = dense(8)(flatten()(x))
    return f.model(outputs=dense(20)(dropout(0.3)(x)))


# =====================================================================================
# CL008 concat-imbalance


def fusion(wide=None):
    """An image branch `wide(conv map)` (default: a 256-unit LSTM over a second sequence)
    concatenated with a 16-unit LSTM branch."""
    f = Functional("fusion")
    if wide is not None:
        a = wide(conv2d(16, 3, padding="same")(f.input((32, 32, 3), name="image")))
    else:
        a = lstm(256, name="lstm_wide")(f.input((20, 4), name="sequence_2"))
    b = lstm(16, name="lstm")(f.input((20, 8), name="sequence"))
    x = concatenate(name="concat")([a, b])
    return f.model(outputs=dense(2)(dropout(0.3)(x)))


@case("cl008/flattened_map_next_to_lstm", {("CL008", "concat")})
@case("cl008/options_max_ratio_2000_accepts_1024x", options={"CL008": {"max-ratio": 2000.0}})
def _():
    return fusion(lambda x: flatten(name="flatten")(x))  # 16384 vs 16


@case("cl008/dense_512_next_to_lstm_16", {("CL008", "concat")})
def _():
    return fusion(lambda x: dense(512)(gap2d()(x)))  # ratio 32


@case("cl008/near_miss_gap_branch")
def _():
    return fusion(lambda x: gap2d(name="gap")(x))  # 16 vs 16


@case("cl008/near_miss_ratio_exactly_16")
@case("cl008/options_max_ratio_8_flags_16x", {("CL008", "concat")},
      options={"CL008": {"max-ratio": 8.0}})
def _():
    return fusion(lambda x: dense(256)(gap2d()(x)))


@case("cl008/near_miss_both_branches_recurrent")
def _():
    return fusion()  # 256 vs 16, but both are recurrent


# -- CL009 batch-as-time (tf.keras 2 configs: Keras 3 layers have no time_major) --------


@case("cl009/tfkeras2_time_major_lstm_fed_batch_first", {("CL009", "lstm")})
def _():
    return legacy(sequential((40, 6), conv1d(8, 3, padding="same"), dropout(0.2),
                             lstm(8, time_major=True, name="lstm"), dense(3)))


@case("cl009/tfkeras2_stacked_time_major_second_fed_batch_first", {("CL009", "lstm_2")})
def _():
    # the first layer is batch-major: its sequence output is (batch, time, F)
    return legacy(sequential((40, 6), conv1d(8, 3, padding="same"), dropout(0.2),
                             lstm(8, return_sequences=True, name="lstm"),
                             lstm(8, time_major=True, name="lstm_2"), dense(3)))


@case("cl009/tfkeras2_stacked_time_major_only_the_first", {("CL009", "lstm")})
def _():
    # a time_major layer's sequence output stays time-major, (time, batch, F): the second
    # time_major layer reads it right; only the first one reads the batch as time
    return legacy(sequential((40, 6), conv1d(8, 3, padding="same"), dropout(0.2),
                             lstm(8, return_sequences=True, time_major=True, name="lstm"),
                             lstm(8, time_major=True, name="lstm_2"), dense(3)))


# =====================================================================================
# Must stay clean (DESIGN.md): legitimate architectures, each with dropout.


@case("clean/crnn_width_as_time_after_permute")
def _():
    return crnn(permuted=True)


@case("clean/crnn_height_pooled_to_one")
def _():
    f = Functional()
    x = f.input((16, 64, 1))
    x = maxpool2d((2, 2))(conv2d(8, 3, padding="same")(x))
    x = maxpool2d((8, 1))(conv2d(16, 3, padding="same")(x))  # (1, 32, 16)
    x = lstm(16, return_sequences=True)(reshape((32, 16))(x))
    return f.model(outputs=dense(20)(dropout(0.3)(x)))


@case("clean/audio_crnn_frequency_folded")
def _():
    f = Functional()
    x = f.input((128, 40, 1))
    x = maxpool2d((1, 2))(conv2d(8, 3, padding="same")(x))
    x = maxpool2d((1, 2))(conv2d(8, 3, padding="same")(x))
    x = gru(16)(reshape((128, 80))(x))
    return f.model(outputs=dense(10)(dropout(0.3)(x)))


@case("clean/audio_crnn_dynamic_length")
def _():
    return sequential((None, 40, 1), conv2d(8, 3, padding="same"), maxpool2d((1, 2)),
                      batchnorm(), reshape((-1, 160)), bidirectional(gru(16)), dropout(0.3),
                      dense(10))


@case("clean/lrcn_timedistributed_sequential_cnn")
def _():
    f = Functional()
    x = time_distributed(frame_cnn())(f.input((8, 32, 32, 3)))
    x = lstm(16)(x)
    return f.model(outputs=dense(5)(dropout(0.3)(x)))


@case("clean/lrcn_timedistributed_layers")
def _():
    return sequential((8, 32, 32, 3), time_distributed(conv2d(8, 3, padding="same")),
                      time_distributed(maxpool2d(4)), time_distributed(flatten()),
                      lstm(16), dropout(0.3), dense(5))


@case("clean/lrcn_timedistributed_functional_frame_model")
def _():
    inner = Functional("frame")
    frame = inner.model(outputs=gap2d()(maxpool2d(2)(conv2d(8, 3)(inner.input((32, 32, 3))))))
    return sequential((8, 32, 32, 3), time_distributed(frame), lstm(16), dropout(0.3), dense(5))


@case("clean/audio_spectrogram_series_reshaped_to_image")
def _():
    # (time, mel) -> (time, mel, 1) -> Conv2D -> pool mel -> (time, mel * C) -> GRU
    return sequential((128, 40), reshape((128, 40, 1)), conv2d(8, 3, padding="same"),
                      maxpool2d((1, 2)), reshape((128, 160)), gru(16), dropout(0.3), dense(10))


@case("clean/hierarchical_rnn_words_then_sentences")
def _():
    return sequential((10, 20, 8), time_distributed(bidirectional(lstm(8))), lstm(16),
                      dropout(0.3), dense(5))


@case("clean/time_folded_into_batch_and_unfolded_by_lambdas",
      {("CL900", "fold"), ("CL900", "unfold")})
def _():
    # (B, 8, 32, 32, 3) -> Lambda -> (B*8, 32, 32, 3) -> CNN -> Lambda -> (B, 8, 8) -> LSTM.
    # Keras can only do this with Lambda layers: opaque, so nothing may be guessed.
    return sequential((8, 32, 32, 3), lambda_layer(output_shape=(32, 32, 3), name="fold"),
                      conv2d(8, 3), maxpool2d(2), gap2d(),
                      lambda_layer(output_shape=(8, 8), name="unfold"), lstm(16), dropout(0.3),
                      dense(5))


@case("clean/convlstm2d")
def _():
    return sequential((8, 32, 32, 1), convlstm2d(4, 3, padding="same", dropout=0.2), gap2d(),
                      dense(5))


@case("clean/conv3d")
def _():
    return sequential((8, 32, 32, 1), conv3d(4, 3, padding="same"), maxpool3d((1, 2, 2)),
                      reshape((8, 1024)), lstm(8), dropout(0.3), dense(5))


@case("clean/conv1d_lstm_time_series")
def _():
    return sequential((100, 4), conv1d(16, 5), maxpool1d(2), lstm(16), dropout(0.3), dense(1))


@case("clean/embedding_conv1d_lstm_text")
def _():
    return sequential((50,), embedding(500, 16), conv1d(16, 3), maxpool1d(2), lstm(16),
                      dropout(0.3), dense(5))


@case("clean/sequential_mnist_rows_as_steps")
def _():
    return sequential((28, 28), lstm(32), dropout(0.3), dense(10))


@case("clean/plain_cnn_classifier")
def _():
    return sequential((32, 32, 3), conv2d(8, 3), avgpool2d(2), gap2d(), dense(16), dropout(0.3),
                      dense(10))


@case("clean/seq2seq_text_with_shared_dense")
def _():
    f = Functional()
    a, b = f.input((20, 8), name="a"), f.input((20, 8), name="b")
    shared = dense(8, name="shared_dense")
    x = concatenate(name="concat")([lstm(8, name="lstm_a")(shared(a)),
                                    lstm(8, name="lstm_b")(shared(b))])
    x = dropout(0.3)(x)
    return f.model(outputs=[dense(1, name="out_a")(x), dense(3, name="out_b")(x)])


@case("clean/residual_conv1d_then_gru")
def _():
    f = Functional()
    x = f.input((64, 12))
    y = conv1d(12, 3, padding="same")(x)
    x = gru(16)(add()([x, y]))
    return f.model(outputs=dense(2)(dropout(0.3)(x)))


@case("clean/text_embedding_gap1d_no_recurrence")
def _():
    return sequential((50,), embedding(500, 16), conv1d(16, 3), gap1d(), dropout(0.3), dense(2))


# =====================================================================================
# Input roles: what a config's `input-roles` declares changes what an axis is


@case("input_roles/clip_without_channel_axis_undeclared", {("CL001", "lstm")})
def clip_of_single_channel_frames():
    # (8, 16, 16) read by default as H, W, C: the Reshape makes 8x16 "pixels" the steps.
    return sequential((8, 16, 16), reshape((128, 16)), lstm(8), dropout(0.3), dense(3))


@case("input_roles/clip_without_channel_axis_declared_NTHW", {("CL003", "reshape")},
      input_roles={"input_layer": "NTHW"})
def _():
    # Declared as 8 frames of 16x16: the same Reshape merges each frame's rows into time.
    return clip_of_single_channel_frames()


# =====================================================================================
# Other layouts: tf.keras 2.x configs


@case("legacy/functional_tfkeras2_spatial_reshape", {("CL001", "lstm")})
def _():
    return legacy(spatial_reshape_functional())


@case("legacy/sequential_first_layer_batch_input_shape", {("CL001", "lstm")})
def _():
    return legacy(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape((225, 8)), lstm(16),
                             dropout(0.3), dense(10)), input_on_first_layer=True)


@case("legacy/sequential_clean_crnn")
def _():
    return legacy(sequential((32, 128, 1), conv2d(8, 3, padding="same"), maxpool2d(2),
                             conv2d(16, 3, padding="same"), maxpool2d(2), permute((2, 1, 3)),
                             reshape((32, 128)), bidirectional(lstm(16, return_sequences=True)),
                             dropout(0.3), dense(20)), input_on_first_layer=True)


@case("legacy/functional_lrcn_without_dropout", {("CL006", "lstm")})
def _():
    f = Functional()
    x = time_distributed(frame_cnn())(f.input((8, 32, 32, 3)))
    return legacy(f.model(outputs=dense(5)(lstm(16)(x))))


@case("legacy/keras20_sequential_config_is_a_list", {("CL001", "lstm")})
def _():
    model = legacy(sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape((225, 8)),
                              lstm(16), dropout(0.3), dense(10)), input_on_first_layer=True)
    model["config"] = model["config"]["layers"]  # Keras 2.0: no name, just the layers
    return model


@case("misc/unbuilt_sequential_judges_only_what_it_can", {("CL006", "lstm")})
def _():
    # No input shape anywhere: shape rules stay silent, CL006 needs no shapes.
    return sequential(None, conv2d(8, 3), reshape((-1, 8)), lstm(4), dense(2))


@case("misc/simple_rnn_pixels", {("CL001", "simple_rnn")})
def _():
    return spatial_reshape_functional(simple_rnn(8))


@case("misc/all_problems_at_once", {("CL001", "lstm"), ("CL006", "lstm")})
def _():
    return sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape((225, 8)), lstm(16),
                      dense(10))


# -- which rule owns a case, and concatenation along time (issue 11, families 2 and 3) ------


def _captioning(image_steps: int, token_is_channels: bool = False) -> dict:
    """An image summarised to `image_steps` token(s) of 256, joined *along time* with 20
    word embeddings, into an LSTM (show-and-tell style)."""
    f = Functional("captions")
    image = f.input((32, 32, 3), name="image")
    words = f.input((20,), name="words")
    x = gap2d()(maxpool2d(2)(conv2d(8, 3)(image)))
    token = reshape((image_steps, 256 // image_steps))(dense(256)(x))
    if token_is_channels:
        token = reshape((256, 1))(dense(256)(x))
    emb = embedding(1000, 256 // image_steps if not token_is_channels else 1)(words)
    seq = concatenate(axis=1)([token, emb])
    return f.model(outputs=dense(10)(dropout(0.3)(lstm(32, name="lstm")(seq))))


@case("family3/image_token_then_words_along_time")
def _():
    return _captioning(1)


@case("family3/two_image_tokens_then_words_along_time")
def _():
    return _captioning(2)


@case("family3/only_channels_joined_along_time", {("CL002", "lstm")})
def _():
    """Two channel-vectors made steps and joined along time: still channels as time."""
    f = Functional("channels_twice")
    image = f.input((32, 32, 3), name="image")
    x = gap2d()(maxpool2d(2)(conv2d(8, 3)(image)))
    a = reshape((8, 1))(x)
    b = reshape((16, 1))(dense(16)(x))
    seq = concatenate(axis=1)([a, b])
    return f.model(outputs=dense(10)(dropout(0.3)(lstm(8, name="lstm")(seq))))


@case("family2/conv1d_map_reshaped_as_a_transpose", {("CL007", "lstm")})
def _():
    """(100 steps, 32 channels) -> Reshape((32, 100)): a scramble (CL007), not also a
    clip merge (CL003)."""
    f = Functional("ts_transpose")
    x = f.input((100, 4))
    y = reshape((32, 100))(conv1d(32, 3, padding="same")(x))
    return f.model(outputs=dense(2)(dropout(0.3)(lstm(16, name="lstm")(y))))


@case("family2/conv1d_map_straight_into_the_lstm")
def _():
    """The near miss done right: Conv1D over time, straight into the LSTM."""
    f = Functional("ts_ok")
    x = f.input((100, 4))
    y = conv1d(32, 3, padding="same")(x)
    return f.model(outputs=dense(2)(dropout(0.3)(lstm(16, name="lstm")(y))))


# =====================================================================================
# CL011 unbounded-recurrent-activation


def series_model(recurrent, name="series"):
    """Conv1D over a (50, 3) series, then `recurrent`, dropout and a head."""
    return sequential((50, 3), conv1d(8, 3), recurrent, dropout(0.3), dense(1), name=name)


@case("cl011/lstm_relu", {("CL011", "lstm")})
def _():
    return series_model(lstm(16, activation="relu", name="lstm"))


@case("cl011/gru_linear", {("CL011", "gru")})
def _():
    return series_model(gru(16, activation=None, name="gru"))


@case("cl011/bidirectional_lstm_relu", {("CL011", "bilstm")})
def _():
    return series_model(bidirectional(lstm(16, activation="relu"), name="bilstm"))


@case("cl011/convlstm2d_relu", {("CL011", "conv_lstm")})
def _():
    layer = convlstm2d(4, 3, padding="same", recurrent_dropout=0.1, name="conv_lstm")
    layer["config"]["activation"] = "relu"
    return sequential((6, 16, 16, 1), layer, flatten(), dense(1))


@case("cl011/tfkeras2_lstm_relu", {("CL011", "lstm")})
def _():
    return legacy(series_model(lstm(16, activation="relu", name="lstm")))


@case("cl011/near_miss_simple_rnn_relu")
def _():
    return series_model(simple_rnn(16, activation="relu", name="irnn"))


@case("cl011/near_miss_hard_sigmoid_gates")
def _():
    return series_model(lstm(16, recurrent_activation="hard_sigmoid", name="lstm"))


@case("cl011/near_miss_tanh_serialised_object")
def _():
    return series_model(lstm(16, activation={"module": "keras.activations", "class_name": "function",
                                             "config": {"name": "tanh"}}, name="lstm"))


# =====================================================================================
# CL012 mask-lost


def masking(name=None):
    from kbuild import Layer

    return Layer("Masking", {"mask_value": 0.0}, name=name)


def text_model(*middle, mask_zero=True, recurrent=None):
    """Embedding(mask_zero) over 40 token ids, `middle`, then an LSTM and a head."""
    return sequential((40,), embedding(100, 16, mask_zero=mask_zero, name="embedding"), *middle,
                      recurrent or lstm(8, dropout=0.2, name="lstm"), dense(1))


@case("cl012/embedding_conv1d_lstm", {("CL012", "lstm")})
def _():
    return text_model(conv1d(16, 5, name="conv1d"), dropout(0.2))


@case("cl012/masking_conv1d_maxpool_gru", {("CL012", "gru")})
def _():
    return sequential((40, 3), masking(name="masking"), conv1d(8, 3, padding="same", name="conv1d"),
                      maxpool1d(2, name="pool"), gru(8, dropout=0.2, name="gru"), dense(1))


@case("cl012/embedding_lstm_conv1d_lstm", {("CL012", "lstm_2")})
def _():
    return text_model(lstm(8, return_sequences=True, dropout=0.2, name="lstm_1"),
                      conv1d(8, 3, padding="same", name="conv1d"),
                      recurrent=lstm(8, name="lstm_2"))


@case("cl012/tfkeras2_embedding_conv1d_lstm", {("CL012", "lstm")})
def _():
    return legacy(text_model(conv1d(16, 5, name="conv1d"), dropout(0.2)))


@case("cl012/near_miss_embedding_dense_dropout_lstm")
def _():
    return text_model(dense(16, activation="relu"), dropout(0.2), batchnorm())


@case("cl012/near_miss_time_distributed_dense")
def _():
    return text_model(time_distributed(dense(16)), dropout(0.2))


@case("cl012/near_miss_masking_after_cnn")
def _():
    return sequential((40, 3), conv1d(8, 3, padding="same"), maxpool1d(2), masking(),
                      lstm(8, dropout=0.2), dense(1))


@case("cl012/near_miss_no_mask")
def _():
    return text_model(conv1d(16, 5), dropout(0.2), mask_zero=False)


@case("cl012/near_miss_conv_branch_concatenated_with_masked")
def _():
    f = Functional("cl012_concat")
    x = embedding(100, 16, mask_zero=True)(f.input((40,), name="tokens"))
    y = conv1d(16, 3, padding="same")(x)
    x = concatenate()([x, y])
    return f.model(outputs=dense(1)(lstm(8, dropout=0.2)(x)))


@case("cl012/near_miss_pooled_then_repeated")
def _():
    return text_model(conv1d(16, 5), gap1d(), repeat_vector(5), dropout(0.2))
