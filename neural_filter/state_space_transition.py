"""The state-space cell's bounded transition: the state's part of its linear map L, built from weights so that it
contracts the state whatever values training gives them.

The cell's state moves by s' = s A + (the input's and the dense layer's shares), A built of 2x2 blocks:

    D_k = [[sigma_k + delta_k, omega_k], [-omega_k, sigma_k - delta_k]]  on the diagonal,
    U_ik = the coupling weights' block (i, k)                             above it (i < k), zero below,
    A_ik = g_k D_k or g_k U_ik,   g_k = RADIUS / max(RADIUS, |D_k| + sum over i < k of |U_ik|),

sigma_k and delta_k the mean and half the difference of decay[2k] and decay[2k + 1], omega_k = rotation[k],
|D_k| = sqrt(sigma_k^2 + omega_k^2) + |delta_k| (D_k's spectral norm: D^T D's largest eigenvalue is its square)
and |U_ik| the Frobenius norm (at least the spectral). With an odd number of units the last is a block of one:
decay alone.

Why it holds: the new state's block k is the old blocks through column k of A, so its length is at most the
old state's longest block times the column's sum of block norms, at most RADIUS: in the norm "the longest
block", A shrinks every state by RADIUS at least, so every power of A does too. Its poles lie within RADIUS
of zero, and no coupling can make the state swell on its way down (measured before this form: the
compressor's state blew up at a rate of 3e-3; bounding the poles alone, with the coupling free, still let it
blow up, later). A ladder's cascade of one-poles is such a coupling (each stage p of itself and 1 - p of the
one before: a column sum of 1, within RADIUS at any scale of the stages below 1).

A block holds two real poles sigma +- sqrt(delta^2 - omega^2) (with omega 0, exactly decay[2k] and
decay[2k + 1]: the one-pole bank the cell starts as is this form, coupling zero, unchanged) or a complex pair
sigma +- i sqrt(omega^2 - delta^2): a resonance, at radius sqrt(sigma^2 + omega^2) and angle
atan2(omega, sigma) for delta 0.

`ops` is NumPy or keras.ops: one formula for training (state_space_cell.py) and rendering (kinds/recurrent.py).
"""

import numpy as np

# The transition shrinks the state by this factor at least (every pole within this radius). A pole at 1 - 1e-5
# decays by 1/e in 1e5 samples (2 s at 48 kHz), longer than any effect here rings (the resonant ladder's linear
# poles: about 0.99993 at 48 kHz).
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
            "coupled": np.float32(block_of[:, None] < block_of[None, :]),
            "coupled_blocks": np.float32(np.arange(count)[:, None] < np.arange(count)[None, :])}


def transition(decay, rotation, coupling, ops, fixed: dict):
    """A (units, units) from decay (units,), rotation (units // 2,) and coupling (units, units), in `ops` (NumPy or
    keras.ops), `fixed` being constants(units)."""
    sigma = ops.matmul(decay, fixed["mean"])  # (blocks,)
    delta = ops.matmul(decay, fixed["half_difference"])
    omega = ops.matmul(rotation, fixed["pairs"])
    diagonal_norm = ops.sqrt(sigma * sigma + omega * omega + TINY) + ops.abs(delta)
    above = coupling * fixed["coupled"]
    squares = ops.matmul(ops.matmul(fixed["member"], above * above), ops.transpose(fixed["member"]))  # (blocks, blocks)
    column = diagonal_norm + ops.sum(ops.sqrt(squares + TINY) * fixed["coupled_blocks"], axis=0)
    gain = ops.matmul(RADIUS / ops.maximum(column, RADIUS), fixed["member"])  # (units,): each column's block's
    omega_rows = ops.matmul(omega, fixed["member"])
    diagonal = fixed["identity"] * decay[None, :] + fixed["signs"] * omega_rows[:, None]
    return (diagonal + above) * gain[None, :]


def start(poles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """decay, rotation and coupling giving the diagonal transition diag(poles) exactly (poles within RADIUS)."""
    units = len(poles)
    return (np.asarray(poles, np.float32), np.zeros(units // 2, np.float32), np.zeros((units, units), np.float32))
