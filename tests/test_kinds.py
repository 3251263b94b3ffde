"""A kind of model is one module under kinds/: the registry, the protocol, and that nothing else
compares a mode name or closes an import loop."""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import fit
from neural_filter import kinds, study
from neural_filter.kinds.base import Kind
from neural_filter.spec import FilterSpec
from tests.conftest import ROOT

PACKAGE = ROOT / "neural_filter"
SCRIPTS = sorted(ROOT.glob("*.py"))  # fit.py, gen.py, make_data.py, report.py, sweep.py

# A mode name compared, or listed as the modes there are: what only kinds/ may know.
MODE_WORDS = "|".join(["chunk", "sliding", "knob", *kinds.MODES])
COMPARISONS = [
    rf"""[=!]=\s*["']({MODE_WORDS})["']""",  # mode == "chunk"
    rf"""["']({MODE_WORDS})["']\s*[=!]=""",  # "chunk" == mode
    rf"""["']({MODE_WORDS})["']\s+(not\s+)?in\b""",  # "sliding" in modes
    r"""(?<!for )\bmode\s+(not\s+)?in\b""",  # mode in (...), not a loop over modes
    rf"""\(\s*["']({MODE_WORDS})["']\s*,\s*["']({MODE_WORDS})["']""",  # ("chunk", "sliding")
    rf"""\{{\s*["']({MODE_WORDS})["']\s*:""",  # {"sliding": ...}: something per mode
]


def python_files():
    return [path for path in [*PACKAGE.rglob("*.py"), *SCRIPTS] if "kinds" not in path.relative_to(ROOT).parts]


def test_nothing_outside_kinds_compares_a_mode_name():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in python_files() for number, line in enumerate(path.read_text().splitlines(), 1)
             if any(re.search(pattern, line) for pattern in COMPARISONS)]
    assert found == []


@pytest.mark.parametrize("line", [
    'if spec.mode == "chunk":',
    'unit = spec.window if "sliding" != spec.mode else 1',
    'for mode in ("chunk", "sliding"):',
    'if mode in MODES:',
    'return args.mode not in ("chunk",)',
    '"batches": {"sliding": "8:64", "chunk": "64:999"},',
    'wrong = request.mode != "sliding"',
])
def test_the_search_finds_what_it_looks_for(line):
    """(Each of these was in the package before the kinds: the test above would see it.)"""
    assert any(re.search(pattern, line) for pattern in COMPARISONS)


def imports_of(path: Path) -> set:
    """The package's modules `path` imports, at its top or inside a function (ast: the code is not run)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found.update(name for name in names if name.split(".")[0] == "neural_filter" and module_path(name))
    return found


def module_path(name: str) -> Path | None:
    """The file of module `name` (a package: its __init__.py), or None where `name` is not a module."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_package_has_no_import_loop():
    graph = {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}
    loops, state = [], {}  # state: 1 while on the path, 2 when done

    def visit(module, path):
        state[module] = 1
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                loops.append(" -> ".join(path[path.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert loops == []


def test_the_loop_search_sees_imports_inside_functions(tmp_path):
    """(The knob <-> network loop, as it was: network.py imported knob.py inside a function.)"""
    inside_a_function = "def load():\n    from neural_filter.knob import KnobStack\n"
    assert "neural_filter.knob" in imports_of(write(tmp_path / "network.py", inside_a_function))
    at_the_top = "from neural_filter.network import Dense\n"
    assert "neural_filter.network" in imports_of(write(tmp_path / "knob.py", at_the_top))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_fit_offers_the_registry_s_modes():
    assert fit.parse_arguments(["--mode", "sliding"]).mode == "sliding"
    assert {"chunk", "sliding"} <= set(kinds.MODES)
    for mode in kinds.MODES:
        assert fit.parse_arguments(["--mode", mode]).mode == mode
        assert study.parse_values("mode", mode).choices == (mode,)


@pytest.mark.parametrize("kind", [*kinds.MODES.values(), kinds.KNOB])
def test_every_kind_implements_the_protocol(kind):
    left = {name for name, value in vars(Kind).items()
            if callable(value) and getattr(type(kind), name) is value and _abstract(value)}
    assert left == set()  # every method the base leaves to the kind is the kind's own
    assert kind.name and kind.mode and FilterSpec(mode=kind.mode).kind.mode == kind.mode
    assert set(kind.sweep_defaults) == {"batches", "samples"}


def _abstract(function) -> bool:
    """Whether the base leaves the method to the kind (its body raises NotImplementedError)."""
    return "raise NotImplementedError" in inspect.getsource(function)


@pytest.mark.parametrize("mode, window, samples, rows, outputs", [
    ("chunk", 4, 10, 3, 12),  # 10 samples: 3 chunks, the last padded with 2 samples of silence
    ("sliding", 4, 10, 10, 10),  # one window per output sample
])
def test_a_kind_frames_a_signal(mode, window, samples, rows, outputs):
    kind = kinds.by_mode(mode)
    spec = FilterSpec(mode=mode, window=window)
    before, after = spec.padding
    signal = np.zeros(before + samples, np.float32)
    cut, rest = kind.rows(signal, window, group_rows=1)
    cut_last, _ = kind.rows(np.concatenate([rest, np.zeros(kind.final_silence(len(rest), window, after),
                                                           np.float32)]), window, group_rows=1)
    assert len(cut) + len(cut_last) == rows == kind.row_count(samples, window)
    assert rows * kind.outputs_per_row(window) == outputs


def test_the_knob_is_a_sliding_model_with_a_knob():
    assert kinds.kind_of(None, conditioned=True) is kinds.KNOB and kinds.KNOB.mode == "sliding"
    assert kinds.default_mode(conditioned=True) == "sliding" and kinds.default_mode(conditioned=False) == "chunk"
    assert kinds.of_model("sliding", {"knob": {}}) is kinds.KNOB
    with pytest.raises(KeyError):
        kinds.of_model("chunk", {"knob": {}})  # a knob is a sliding model: no kind is a knob in chunks
