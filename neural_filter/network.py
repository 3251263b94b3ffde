"""A trained filter as plain NumPy: its forward pass, without a framework.

Rendering needs no gradients and no framework (model_file reads a saved model's weights with
NumPy and h5py, where importing Keras alone takes seconds). Chunk and sliding models reduce to one
dense stack applied to rows of `window` input samples: a chunk model maps each chunk to a chunk, a
sliding model maps each window to the one output sample it ends at (or is centred on), plus an
optional linear path (an FIR filter): a window-long one applied to the rows (older model files),
or a long one (linear_path.LinearPath) that render.py runs over the signal by FFT beside them. A
stack beside a long path may also read the path's output at its own sample (`from_linear`, format
4): render.py hands each row's to the call, and the first layer adds it, weighed, to its product.
"""

import dataclasses
import threading

import numpy as np

from neural_filter import numpy_activations


@dataclasses.dataclass
class Dense:
    """One layer as NumPy arrays: kernel (inputs, outputs), bias (outputs,), activation name."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str = "linear"

    def __call__(self, columns: np.ndarray, out: np.ndarray | None = None, engine: str = "compiled",
                 added: np.ndarray | None = None) -> np.ndarray:
        """(inputs, rows) -> (outputs, rows), into `out` (outputs, rows) when given; `added` (outputs, rows): another
        input's share, added before the bias and the activation."""
        product = np.matmul(self.kernel.T, columns, out=out)
        if added is not None:
            product += added
        return activations_of(engine)[self.activation](product, self.bias)  # in place where it can: the product is ours


ENGINES = ("compiled", "numpy")  # how the activations are computed: the compiled loop, or NumPy's passes


def activations_of(engine: str) -> dict:
    """The activation table of an engine, imported on first use: the compiled one loads llvmlite and its loop."""
    if engine == "numpy":
        return numpy_activations.ACTIVATIONS
    from neural_filter import activations  # noqa: PLC0415 - llvmlite and the loop, 45 ms and 55 MB: when used

    return activations.ACTIVATIONS


@dataclasses.dataclass
class DenseStack:
    """The network: dense layers applied in turn to each row, plus an optional linear path.

    Rows in, rows out; inside, one column per row, so that each unit's values lie in one long
    contiguous run, which the activation loops vectorise however few units a layer has.
    """

    layers: list
    linear_path: Dense | None = None
    engine: str = "compiled"  # see ENGINES; render.engine_for chooses one per song
    long_path: object = None  # a linear_path.LinearPath, full scale: render.py adds its output to the rows'
    from_linear: np.ndarray | None = None  # (units,): the long path's output at the row's sample into the first layer
    # each thread's reused output arrays; see _workspace
    _workspaces: threading.local = dataclasses.field(default_factory=threading.local, repr=False, compare=False)

    def __call__(self, rows: np.ndarray, first_row: int = 0, linear: np.ndarray | None = None) -> np.ndarray:
        """(rows, window) -> (rows, outputs): a view into this thread's workspace, valid until its next call.

        `first_row` says where the rows are in the signal: a network that changes along it (a
        knob's sweep, knob.Sweep) needs it; this one is the same everywhere. `linear` (rows,): the
        long path's output at each row's sample, for a stack that reads it (`reads_linear`).
        """
        outs = self._workspace(len(rows))
        result = rows.T  # a view: the matrix products read it in place
        for index, (layer, out) in enumerate(zip(self.layers, outs)):
            added = np.multiply.outer(self.from_linear, linear) if index == 0 and self.reads_linear else None
            result = layer(result, out, self.engine, added)
        if self.linear_path is not None:
            linear = self.linear_path(rows.T, outs[len(self.layers)], self.engine)
            if self.layers:
                linear += result
            result = linear
        return result.T

    def _workspace(self, rows: int) -> list:
        """This thread's arrays for every layer's output, for `rows` rows at a time.

        Reused from call to call, they spare the page faults of fresh arrays, which cost a quarter
        of the time of a block (the allocator hands memory this size back to the system on free).
        The layers take turns between two arrays, each reading the one the layer before wrote, so
        that a core's working set stays in its own cache. Each thread has its own: render runs row
        groups on several threads at once.
        """
        cached = self._workspaces
        if getattr(cached, "rows", None) != rows:
            widest = max((layer.kernel.shape[1] for layer in self.layers), default=0)
            pair = [np.empty((widest, rows), np.float32) for _ in range(2)]
            cached.arrays = [pair[index % 2][: layer.kernel.shape[1]] for index, layer in enumerate(self.layers)]
            if self.linear_path is not None:
                cached.arrays.append(np.empty((self.linear_path.kernel.shape[1], rows), np.float32))
            cached.rows = rows
        return cached.arrays

    @property
    def reads_linear(self) -> bool:
        """Whether each call needs the long path's output at its rows (render.py hands it over)."""
        return self.from_linear is not None

    @property
    def window(self) -> int:
        """The samples a row holds: what the first layer reads (a network may be its linear path alone)."""
        return (self.layers[0] if self.layers else self.linear_path).kernel.shape[0]

    def on_full_scale(self, spec) -> "DenseStack":
        """The same network taking and giving full-scale samples: its levels folded into its weights.

        The network sees `sample * scale + offset` and its output means `(y - offset) / scale`. Both
        maps are affine, so the layers that read the input take the first (W -> scale W, b -> b +
        offset * sum of W's rows) and the linear layers that write the output the second, and
        rendering makes no passes over the audio for them. The output layer must be linear
        (model_file.load_network refuses other models).
        """
        scale, offset = (np.float32(value) for value in spec.scale_offset)
        if self.layers and self.layers[-1].activation != "linear":
            raise ValueError(f"the output layer is {self.layers[-1].activation}: only a linear one can take the levels")

        def folded(layer: Dense, reads_input: bool, writes_output: bool, subtract_offset: bool) -> Dense:
            kernel, bias = layer.kernel, layer.bias
            if reads_input:
                bias = bias + offset * kernel.sum(axis=0)
            if writes_output:
                bias = (bias - offset if subtract_offset else bias) / scale
            if reads_input != writes_output:  # a layer that does both keeps its kernel: the scales cancel
                kernel = kernel * scale if reads_input else kernel / scale
            return Dense(kernel, bias, layer.activation)

        last = len(self.layers) - 1
        layers = [folded(layer, index == 0, index == last, subtract_offset=self.linear_path is None)
                  for index, layer in enumerate(self.layers)]
        linear_path = self.linear_path and folded(self.linear_path, True, True, subtract_offset=True)
        # the long path, and so its output into the first layer, is full scale already
        return DenseStack(layers, linear_path, self.engine, self.long_path, self.from_linear)

    def with_engine(self, engine: str) -> "DenseStack":
        """The same network, its activations computed by `engine` (one of ENGINES)."""
        return DenseStack(self.layers, self.linear_path, engine, self.long_path, self.from_linear)

    @property
    def numpy_ready(self) -> bool:
        """Whether every activation is one we compute (both engines know the same names); else Keras renders."""
        return all(layer.activation in numpy_activations.ACTIVATIONS for layer in self.layers)
