"""The state-space cell's bounded transition: the state's part of its linear map L, built from weights so that its
poles stay inside the unit circle whatever values training gives them.

The cell's state moves by s' = s A + (the input's and the dense layer's shares), with

    A = blockdiag(B_0, B_1, ...) + U,
    B_k = g_k [[sigma_k + delta_k, omega_k], [-omega_k, sigma_k - delta_k]],
    g_k = RADIUS / max(RADIUS, sqrt(sigma_k^2 + omega_k^2) + |delta_k|),

sigma_k and delta_k the mean and half the difference of decay[2k] and decay[2k + 1], omega_k = rotation[k], and U
the coupling weights where the row's block comes before the column's (strictly upper block-triangular; zero on and
below the diagonal blocks). With an odd number of units the last is a block of one: decay alone.

Why it holds: a block-triangular matrix's eigenvalues are its diagonal blocks', and sqrt(sigma^2 + omega^2) +
|delta| is B's spectral norm (B^T B's largest eigenvalue is its square), at least its spectral radius: every pole
of A lies within RADIUS of zero, so the linear part of the state can no longer grow without bound (measured before
this form: the compressor's state blew up at a rate of 3e-3), while the coupling stays free (a ladder's cascade of
one-poles is such a coupling, its poles all on the diagonal).

A block holds two real poles sigma +- sqrt(delta^2 - omega^2) (with omega 0, exactly decay[2k] and decay[2k + 1]:
the one-pole bank the cell starts as is this form unchanged) or a complex pair sigma +- i sqrt(omega^2 - delta^2):
a resonance, at radius sqrt(sigma^2 + omega^2) and angle atan2(omega, sigma) for delta 0.

`ops` is NumPy or keras.ops: one formula for training (state_space_cell.py) and rendering (kinds/recurrent.py).
"""

import numpy as np

# Every pole of the transition lies within this radius. A pole at 1 - 1e-5 decays by 1/e in 1e5 samples (2 s at
# 48 kHz), longer than any effect here rings (the resonant ladder's linear poles: about 0.99993 at 48 kHz).
RADIUS = 1 - 1e-5
# Inside the square root, so that its gradient stays finite where a block's sigma and omega are both zero.
TINY = 1e-12


def blocks(units: int) -> int:
    """The diagonal blocks of `units` states: pairs, and a block of one for an odd last unit."""
    return -(-units // 2)


def constants(units: int) -> dict:
    """The fixed float32 matrices the formula multiplies by: units' blocks, means, half differences, signs, masks."""
    count = blocks(units)
    block_of = np.arange(units) // 2
    member = np.float32(block_of[:, None] == np.arange(count)[None, :])  # (units, blocks)
    second = np.arange(units) % 2 == 1
    lone = units % 2 == 1
    mean = member / member.sum(axis=0, keepdims=True)  # decay @ mean: each block's sigma
    half_difference = member * np.where(second, -0.5, 0.5)[:, None]  # decay @ this: each block's delta
    if lone:
        half_difference[-1] = 0
    pairs = np.float32(np.arange(units // 2)[:, None] == np.arange(count)[None, :])  # rotation (pairs,) -> (blocks,)
    signs = np.zeros((units, units), np.float32)  # +omega above the block's diagonal, -omega below
    for k in range(units // 2):
        signs[2 * k, 2 * k + 1], signs[2 * k + 1, 2 * k] = 1, -1
    return {"member": member.T.copy(), "mean": mean, "half_difference": half_difference.astype(np.float32),
            "pairs": pairs, "signs": signs, "identity": np.eye(units, dtype=np.float32),
            "coupled": np.float32(block_of[:, None] < block_of[None, :])}


def transition(decay, rotation, coupling, ops, fixed: dict):
    """A (units, units) from decay (units,), rotation (units // 2,) and coupling (units, units), in `ops` (NumPy or
    keras.ops), `fixed` being constants(units)."""
    sigma = ops.matmul(decay, fixed["mean"])  # (blocks,)
    delta = ops.matmul(decay, fixed["half_difference"])
    omega = ops.matmul(rotation, fixed["pairs"])
    norm = ops.sqrt(sigma * sigma + omega * omega + TINY) + ops.abs(delta)
    gain = ops.matmul(RADIUS / ops.maximum(norm, RADIUS), fixed["member"])  # (units,): each row's block's
    omega_rows = ops.matmul(omega, fixed["member"])
    diagonal = fixed["identity"] * decay[None, :] + fixed["signs"] * omega_rows[:, None]
    return diagonal * gain[:, None] + coupling * fixed["coupled"]


def start(poles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """decay, rotation and coupling giving the diagonal transition diag(poles) exactly (poles within RADIUS)."""
    units = len(poles)
    return (np.asarray(poles, np.float32), np.zeros(units // 2, np.float32), np.zeros((units, units), np.float32))
