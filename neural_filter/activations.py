"""The compiled engine: Keras's common activations as machine code, loaded without Numba.

`activation_loop` is their source, one loop that Numba compiles and LLVM vectorises. Numba itself
costs 0.65 s at every start (importing it, part of SciPy, and its typing registries, which its own
cache needs to load a function), while the machine code is 10 KB that needs nothing at run time.
So this module keeps that code on disk and loads it with llvmlite, in about 40 ms: Numba is
imported only to compile it, on the first render after installing (or after editing the source).

Each function takes a layer's fresh product (float32, one row per unit and one column per input
row; it may overwrite it) and the layer's bias (one per unit), and returns the activated sum.
The rare ones, and those that take one or two cheap passes, are the NumPy engine's own.

`CompiledLoop` is that loading for any loop of ours: the recurrent kind's per-sample loop
(recurrent_loop.py) is cached and loaded the same way.
"""

import contextlib
import ctypes
import dataclasses
import hashlib
import importlib
import importlib.util
import os
import threading
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from neural_filter.numpy_activations import ALIASES, COMPILED, FUNCTION_NAME, NUMPY_ACTIVATIONS, with_bias
SOURCE = Path(__file__).with_name("activation_loop.py")
CONSTANTS = Path(__file__).with_name("numpy_activations.py")  # whose constants the compiled loops compile in

# Numba's calling convention, which the compiled loop keeps: a status (0: done) and two pointers,
# for a return value and an exception, before its own arguments (units, bias, unit count, row
# count, kind). ctypes lets go of the GIL for the call, so render's threads run it at once.
LOOP_PROTOTYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_ssize_t, ctypes.c_ssize_t)


def activate(units: np.ndarray, bias: np.ndarray, kind: int) -> np.ndarray:
    """units[u, i] = COMPILED[kind](units[u, i] + bias[u]), in place where `units` is C-ordered float32."""
    if not (units.flags.c_contiguous and units.dtype == np.float32):  # (a layer's product always is)
        units = np.ascontiguousarray(units, np.float32)
    bias = np.ascontiguousarray(bias, np.float32)
    returned = ctypes.c_void_p()  # the loop stores its return value (None: a null pointer) here
    status = ACTIVATION_LOOP.function()(ctypes.byref(returned), None, units.ctypes.data, bias.ctypes.data,
                                        *units.shape, kind)
    if status:
        raise RuntimeError(f"the compiled activation loop failed (status {status})")
    return units


def compiled(kind: int):
    def activation(units: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return activate(units, bias, kind)

    return activation


# The rest are rare, or one or two cheap NumPy passes: the NumPy engine's own.
ACTIVATIONS = {
    **{name: with_bias(function) for name, function in NUMPY_ACTIVATIONS.items()},
    **{name: compiled(kind) for kind, name in enumerate(COMPILED)},
    **{alias: compiled(COMPILED.index(name)) for alias, name in ALIASES.items()},
}

@dataclasses.dataclass(frozen=True)
class CompiledLoop:
    """One loop of ours that Numba compiles to one function: the package's module whose `machine_code(target_machine)`
    compiles it, the function's name and ctypes prototype (Numba's calling convention), our names its code depends
    on, and its source files (a function: read when the key is made); loaded once, on first use."""

    module: str
    function_name: str
    prototype: object
    names: tuple
    sources: object  # () -> the source files the machine code is made from

    def function(self):
        with _loading:
            if self not in _loaded:
                target_machine = _target_machine()
                _loaded[self] = _load(_machine_code(target_machine, self), target_machine, self)
        return _loaded[self][1]


# the loop compiles in CONSTANTS' (its kinds' order, erf's polynomial, the smallest normal) too
ACTIVATION_LOOP = CompiledLoop("activation_loop", FUNCTION_NAME, LOOP_PROTOTYPE, (COMPILED, FUNCTION_NAME),
                               lambda: (SOURCE, CONSTANTS))
_loaded = {}  # CompiledLoop -> (the execution engine, which owns the code; the function), once loaded
_loading = threading.Lock()  # render's threads ask for the loop at once


def _target_machine() -> llvm.TargetMachine:
    """This CPU with all its features, set up as Numba's JIT sets up its own (code for the JIT's loader)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    relocation = "static" if target.name.startswith("x86") else "pic" if target.name.startswith("ppc") else "default"
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, reloc=relocation, codemodel="jitdefault", jit=True)


def _load(object_code: bytes, target_machine: llvm.TargetMachine, loop: CompiledLoop):
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine)
    engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
    engine.finalize_object()
    return engine, loop.prototype(engine.get_function_address(loop.function_name))


def _machine_code(target_machine: llvm.TargetMachine, loop: CompiledLoop = ACTIVATION_LOOP) -> bytes:
    """The loop's object code from the cache, or compiled by Numba (and cached) if it has none for this build."""
    name = f"{loop.module}.{_build_key(target_machine, loop)}.o"
    folders = _cache_folders()
    for folder in folders:
        code = _read_checked(folder / name)
        if code is not None:
            return code
    # Numba: a second to import, two to compile
    code = importlib.import_module(f"neural_filter.{loop.module}").machine_code(target_machine)
    for folder in folders:
        if _write_checked(folder / name, code):
            break  # else compiled again on every run, as Numba does when no folder is writable
    return code


def _build_key(target_machine: llvm.TargetMachine, loop: CompiledLoop = ACTIVATION_LOOP) -> str:
    """What the machine code depends on: its source (and our names for it), the compilers (Numba by its
    files' stamp: an upgrade or reinstall compiles again), the CPU."""
    numba = importlib.util.find_spec("numba")  # not imported: a second
    stamp = os.stat(numba.origin) if numba is not None and numba.origin else None
    parts = (*(source.read_bytes() for source in loop.sources()), *loop.names, llvmlite.__version__,
             stamp and (stamp.st_mtime_ns, stamp.st_size),
             target_machine.triple, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def _cache_folders() -> list[Path]:
    """Numba's order: the source's __pycache__ folder, else the user's cache folder (if the first is read-only)."""
    folders = [SOURCE.parent / "__pycache__"]
    try:
        folders.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neural_filter")
    except RuntimeError:  # no home folder
        pass
    return folders


# A cached file is the object code after its SHA-256: LLVM crashes the process on a damaged object
# file rather than raising, so a file that does not match its digest is compiled again.
DIGEST_BYTES = 32


def _read_checked(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, code = data[:DIGEST_BYTES], data[DIGEST_BYTES:]
    return code if hashlib.sha256(code).digest() == digest else None


def _write_checked(path: Path, code: bytes) -> bool:
    """Write `path` atomically (a reader never sees half a file); False where that is not possible."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(hashlib.sha256(code).digest() + code)
        os.replace(temporary, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):  # (nothing there to remove where the folder is not one)
            temporary.unlink()
        return False
