"""The hyperparameters of a training run, with the original's defaults: written here once.

fit.py's positional arguments take their defaults from `TrainSettings()` (and the window's from
`FilterSpec()`), and so does any other caller (a sweep, a benchmark). Importing this module costs
nothing: no framework.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """fit.py's hyperparameters, as the original named and defaulted them."""

    layers: int = 6  # hidden Dense layers after the first one
    units: int = 32  # units in every hidden layer
    batch_size: int = 999  # chunk mode: chunks per batch; sliding mode: segments per batch
    activation: str = "gelu"  # any Keras activation name, for every hidden layer
    optimiser: str = "adam"  # a key of model.OPTIMISERS
    epochs: int = 64
    seed: int = 1234  # data shuffle and weight initialisation: same arguments, same model
    learning_rate: float | None = None  # None keeps the optimiser's original rate
    linear_path: bool = False  # sliding mode: an FIR beside the stack
    segment: int = 1024  # sliding mode: output samples per training segment
    fir_start: bool = True  # sliding mode: start the linear path at the least-squares FIR
    linear_taps: int | None = None  # the linear path's length; None: read off the pair (linear_path.py)
    patience: int = 0  # stop after this many epochs without a better validation loss; 0 = never
    # sliding mode's start (issue #11): with zero biases and a constant rate, a stack beside the
    # least-squares FIR sat at its start; 0 and False give that old start back (bench/quality.py)
    bias_start: float = 0.5  # hidden biases start uniform on +-this (0: Keras's zeros)
    cosine: bool = True  # the rate decays along a cosine to zero over the run, from model.SLIDING_RATES
    cell: str = "state-space"  # recurrent mode: the cell (kinds/recurrent.CELLS)
    carry_state: bool = False  # recurrent mode: segments start from the state the pair leaves there (carried_state.py)


DEFAULTS = TrainSettings()
