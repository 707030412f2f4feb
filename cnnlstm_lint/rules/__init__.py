"""The rule registry: codes -> rule classes, explicit and sorted."""

from __future__ import annotations

from .base import Option, Rule
from .cl001_spatial_sequence import SpatialSequence
from .cl002_channels_as_time import ChannelsAsTime
from .cl003_missing_timedistributed import MissingTimeDistributed
from .cl004_oversized_recurrent_input import OversizedRecurrentInput
from .cl005_single_step_recurrence import SingleStepRecurrence
from .cl006_no_dropout import NoDropout
from .cl007_scrambled_reshape import ScrambledReshape
from .cl008_concat_imbalance import ConcatImbalance
from .cl009_batch_as_time import BatchAsTime
from .cl010_bidirectional_last_step import BidirectionalLastStep
from .cl011_unbounded_recurrent_activation import UnboundedRecurrentActivation
from .cl012_mask_lost import MaskLost
from .cl013_softmax_over_batch import SoftmaxOverBatch
from .cl900_unsafe_content import UnsafeContent

REGISTRY: dict[str, type[Rule]] = {
    "CL001": SpatialSequence,
    "CL002": ChannelsAsTime,
    "CL003": MissingTimeDistributed,
    "CL004": OversizedRecurrentInput,
    "CL005": SingleStepRecurrence,
    "CL006": NoDropout,
    "CL007": ScrambledReshape,
    "CL008": ConcatImbalance,
    "CL009": BatchAsTime,
    "CL010": BidirectionalLastStep,
    "CL011": UnboundedRecurrentActivation,
    "CL012": MaskLost,
    "CL013": SoftmaxOverBatch,
    "CL900": UnsafeContent,
}

__all__ = ["REGISTRY", "Option", "Rule", "by_code_or_name"]


def by_code_or_name(key: str) -> type[Rule] | None:
    key_upper = key.upper()
    if key_upper in REGISTRY:
        return REGISTRY[key_upper]
    return next((r for r in REGISTRY.values() if r.name == key.lower()), None)
