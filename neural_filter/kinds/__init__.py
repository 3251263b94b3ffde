"""The kinds of model, one module each, and the registry that maps a name to its kind.

fit.py's --mode offers the kinds in MODES; --pairs trains the knob, a sliding model conditioned
on the cutoff. A saved record names its kind by its spec's mode, and a knob model by its knob
field. Adding a kind is its module (a `Kind`, see base.py), one line here, and its tests.
"""

from neural_filter.kinds.base import Kind
from neural_filter.kinds.chunk import ChunkKind
from neural_filter.kinds.knob import KnobKind
from neural_filter.kinds.recurrent import RecurrentKind
from neural_filter.kinds.sliding import SlidingKind
from neural_filter.kinds.tcn import TcnKind

# fit.py's --mode word -> its kind
MODES = {kind.name: kind for kind in (ChunkKind(), SlidingKind(), TcnKind(), RecurrentKind())}
KNOB = KnobKind()  # fit.py --pairs
DEFAULT_MODE = ChunkKind.name  # the original's


def by_mode(mode: str) -> Kind:
    """The kind a spec's mode word names; a KeyError for a word no kind has."""
    return MODES[mode]


def kind_of(mode: str, conditioned: bool = False) -> Kind:
    """The kind fit.py trains for `--mode` (None: the default), and `--pairs` when `conditioned`."""
    return KNOB if conditioned else by_mode(mode or DEFAULT_MODE)


def default_mode(conditioned: bool) -> str:
    """fit.py's --mode when none is given: the knob's with --pairs."""
    return KNOB.mode if conditioned else DEFAULT_MODE


def of_model(mode: str, record: dict) -> Kind:
    """The kind of a saved model: its spec's mode word, and its record (the original project's: empty);
    a KeyError where they name no kind we know."""
    kind = kind_of(mode, KNOB.record_key in record)
    if kind.mode != mode:
        raise KeyError(mode)
    return kind
