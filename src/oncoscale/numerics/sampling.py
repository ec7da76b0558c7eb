"""Model-agnostic stochastic sampling kernels for Numba: a small explicit random stream and
exact binomial / categorical / distinct-index draws on it.

The stream (xoshiro256**, a ``uint64[4]`` array) lives in a model's state and is seeded once
from a ``numpy.random.Generator``. Design and details: docs/numerics.md, section 'Random
streams and exact samplers for Numba'.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: mean n·p below which the binomial is drawn by inversion from k = 0
INVERSION_MEAN = 8.0

_U53 = 1.0 / 9007199254740992.0  # 2**-53


def stream_from_generator(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256** state (``uint64[4]``) seeded from ``rng`` (never all zero)."""
    while True:
        s = rng.integers(0, np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
        if np.any(s):
            return s


def key_from_generator(rng: np.random.Generator) -> np.ndarray:
    """A 256-bit key (``uint64[4]``) for :func:`keyed_stream`, drawn from ``rng``."""
    return stream_from_generator(rng)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, inline="always")
def mix64(z):  # pragma: no cover - compiled
    """SplitMix64's finaliser: a bijective 64-bit mixer (Stafford's variant 13)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def counter_hash(key, a):  # pragma: no cover - compiled
    """A 64-bit hash of the 256-bit ``key`` and the counter ``a`` (e.g. the step)."""
    h = mix64(np.uint64(a) * _GOLDEN + key[0])
    h = mix64(h ^ key[1])
    h = mix64(h ^ key[2])
    return mix64(h ^ key[3])


@numba.njit(cache=True, inline="always")
def keyed_stream(base, b, c, out):  # pragma: no cover - compiled
    """Fill ``out`` (``uint64[4]``) with the xoshiro256** state of the stream numbered (b, c)
    under ``base`` = :func:`counter_hash` (key, a): a counter-based family of independent
    streams — stream (a, b, c) does not depend on which others were drawn or in what order,
    so work split over threads gives the same numbers for any number of threads."""
    h = mix64(base ^ mix64(np.uint64(b) * _GOLDEN + np.uint64(c) + np.uint64(1)))
    for j in range(4):
        h += _GOLDEN
        out[j] = mix64(h)


def binomial_cdf_table(p: float, n_max: int = 256, k_cap: int = 64) -> np.ndarray:
    """cdf[n, k] = P(Bin(n, p) <= k) for n < n_max, k < k_max, where the last column, set
    to 1, leaves out a tail below 1e-20 (under the resolution of a uniform). Returns an
    empty (0, 0) table if that needs more than ``k_cap`` columns (large n·p: use the direct
    sampler)."""
    if not 0.0 < p < 1.0:
        return np.zeros((0, 0))
    n = np.arange(n_max, dtype=float)
    pmf = np.empty((n_max, k_cap))
    pmf[:, 0] = (1.0 - p) ** n
    for k in range(1, k_cap):  # P(k) = P(k − 1)·(n − k + 1)/k·p/(1 − p), exact zeros for k > n
        pmf[:, k] = pmf[:, k - 1] * np.maximum(n - k + 1, 0.0) / k * (p / (1.0 - p))
    # columns needed: the first k whose next term is negligible for every n (k > n·p there,
    # so the tail beyond is smaller still); that column is set to exactly 1
    negligible = np.flatnonzero(np.all(pmf[:, 1:] < 1e-20, axis=0))
    if negligible.size == 0:
        return np.zeros((0, 0))
    cdf = np.cumsum(pmf, axis=1)[:, : negligible[0] + 1].copy()
    cdf[:, -1] = 1.0
    return cdf


@numba.njit(cache=True, inline="always")
def _rotl(x, k):  # pragma: no cover - compiled
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def next_u64(s):  # pragma: no cover - compiled
    """Next 64-bit output of the xoshiro256** stream ``s`` (advanced in place)."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@numba.njit(cache=True, inline="always")
def uniform(s):  # pragma: no cover - compiled
    """Uniform double in [0, 1) (53 random bits)."""
    return float(next_u64(s) >> np.uint64(11)) * _U53


@numba.njit(cache=True, inline="always")
def uniform_open(s):  # pragma: no cover - compiled
    """Uniform double in (0, 1]."""
    return (float(next_u64(s) >> np.uint64(11)) + 1.0) * _U53


@numba.njit(cache=True)
def _binomial_inversion(s, u, n, p):  # pragma: no cover - compiled
    """Bin(n, p), p <= 1/2, small mean: inversion from k = 0 starting with the uniform u."""
    ratio = p / (1.0 - p)
    f0 = (1.0 - p) ** n
    while True:
        f = f0
        k = 0
        while u >= f and k < n:
            u -= f
            k += 1
            f *= ratio * (n - k + 1) / k
        if u < f:
            return k
        u = uniform(s)  # rounding left mass beyond k = n: redraw (vanishingly rare)


@numba.njit(cache=True)
def _binomial_gaps(s, n, p):  # pragma: no cover - compiled
    """Bin(n, p) by counting geometric gaps between successes (cost O(n·p + 1))."""
    logq = math.log1p(-p)
    k = 0
    position = 0
    while True:
        gap = math.floor(math.log(uniform_open(s)) / logq)
        if gap >= n - position:  # also guards overflow of huge gaps
            return k
        position += int(gap) + 1
        k += 1
        if position >= n:
            return k


@numba.njit(cache=True, inline="always")
def binomial_small(s, n, p):  # pragma: no cover - compiled
    """Exact Bin(n, p) for 0 <= p <= 1/2.

    Small mean: inversion, with a transcendental-free shortcut for the common outcome 0:
    (1 − p)^n >= 1 − np, so a uniform below 1 − np is already the inversion result 0; only a
    fraction np of the draws evaluate (1 − p)^n. Larger mean: geometric gaps."""
    if n <= 0 or p <= 0.0:
        return 0
    mean = n * p
    if mean < INVERSION_MEAN:
        u = uniform(s)
        if u < 1.0 - mean:
            return 0
        return _binomial_inversion(s, u, n, p)
    return _binomial_gaps(s, n, p)


@numba.njit(cache=True)
def binomial(s, n, p):  # pragma: no cover - compiled
    """Exact Bin(n, p) draw (any 0 <= p <= 1) from the stream ``s``."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial_small(s, n, 1.0 - p)
    return binomial_small(s, n, p)


@numba.njit(cache=True)
def _binomial_at_least_one(s, u, n, p, f0):  # pragma: no cover - compiled
    """Inversion of Bin(n, p) (p <= 1/2, small mean) past k = 0: u = v − P(0) >= 0."""
    ratio = p / (1.0 - p)
    f = f0
    k = 0
    while k < n:
        k += 1
        f *= ratio * (n - k + 1) / k
        if u < f:
            return k
        u -= f
    while True:  # rounding left mass beyond k = n: exact conditional draw by rejection
        k = binomial(s, n, p)
        if k > 0:
            return k


@numba.njit(cache=True)
def _binomial_positive(s, n, p):  # pragma: no cover - compiled
    """Bin(n, p) conditioned on k >= 1, by rejection (used where P(0) is small)."""
    while True:
        k = binomial(s, n, p)
        if k > 0:
            return k


@numba.njit(cache=True, inline="always")
def chain_binomial(s, v, n, p):  # pragma: no cover - compiled
    """One link of a joint inversion of independent binomials driven by one uniform v.

    Returns (k ~ Bin(n, p), v') where v' is the uniform for the next link. With a = np < 1
    the unit interval is split into a "certainly 0" part [0, 1 − a) (valid because
    (1 − p)^n >= 1 − np) and an uncertain part of length a, in which P(0) = (1 − p)^n is
    evaluated; v' is the residual of v in the part that decided k = 0, and a fresh uniform
    after k >= 1 (equal in law: that residual is uniform and independent of all draws).
    Transcendentals are thus needed with probability ~np only.

    Chaining links lets a caller settle the common outcome "all zero" with one uniform: the
    links all give 0 (via their certain parts) whenever v < 1 − Σ n_k p_k.
    """
    if n <= 0 or p <= 0.0:
        return 0, v
    if p >= 1.0:
        return n, uniform(s)
    a = n * p
    if a < 1.0:
        c0 = 1.0 - a
        if v < c0:
            return 0, v / c0
        w = (v - c0) / a  # uniform on [0, 1) given the uncertain part
        f = (1.0 - p) ** n
        r = max(f - c0, 0.0) / a  # P(k = 0 | uncertain part)
        if w < r:
            return 0, w / r
        u = (w - r) / (1.0 - r)  # uniform, for k given k >= 1
        if p <= 0.5:
            return _binomial_at_least_one(s, u * (1.0 - f), n, p, f), uniform(s)
    else:
        f = (1.0 - p) ** n
        if v < f:
            return 0, v / f
        if p <= 0.5 and a < INVERSION_MEAN:
            return _binomial_at_least_one(s, v - f, n, p, f), uniform(s)
    return _binomial_positive(s, n, p), uniform(s)


@numba.njit(cache=True, inline="always")
def chain_binomial_table(s, v, n, p, cdf):  # pragma: no cover - compiled
    """:func:`chain_binomial` for a fixed p with its :func:`binomial_cdf_table`: inversion by
    table look-up (no transcendental work); falls back to the direct link for n beyond it."""
    if n <= 0 or p <= 0.0:
        return 0, v
    if n >= cdf.shape[0]:
        return chain_binomial(s, v, n, p)
    f0 = cdf[n, 0]
    if v < f0:
        return 0, v / f0
    k = 1
    while v >= cdf[n, k]:  # the last column is 1.0 > v
        k += 1
    return k, uniform(s)


#: "never" for a geometric gap (probability 0, or gaps beyond any count)
GAP_INF = 2**62


@numba.njit(cache=True, inline="always")
def geometric_gap(s, p):  # pragma: no cover - compiled
    """Failures before the next success of independent Bernoulli(p) trials."""
    if p >= 1.0:
        return 0
    if p <= 0.0:
        return GAP_INF
    g = math.floor(math.log(uniform_open(s)) / math.log1p(-p))
    return int(g) if g < GAP_INF else GAP_INF


@numba.njit(cache=True, inline="always")
def bernoulli_block(s, n, p, gap):  # pragma: no cover - compiled
    """Successes among the next n trials of a Bernoulli(p) process whose next success comes
    after ``gap`` failures; returns (successes, gap after the block).

    Walking a fixed-p process through consecutive blocks (e.g. the immune cells of the
    sites of a sweep) gives independent Bin(n, p) counts per block at a cost proportional
    to the successes: a block without one costs a subtraction."""
    if gap >= n:
        return 0, gap - n
    k = 0
    position = gap  # index of the success inside the block
    while True:
        k += 1
        g = geometric_gap(s, p)
        left = n - position - 1  # trials of the block after this success
        if g >= left:
            return k, g - left
        position += g + 1


@numba.njit(cache=True)
def sample_distinct(s, k, n, out):  # pragma: no cover - compiled
    """Write k distinct indices drawn uniformly from range(n) into ``out[:k]`` (k <= n).

    Rejection of repeats: exact, and cheap when k << n (the intended use)."""
    m = 0
    while m < k:
        c = int(uniform(s) * n)
        if c >= n:
            c = n - 1
        fresh = True
        for r in range(m):
            if out[r] == c:
                fresh = False
                break
        if fresh:
            out[m] = c
            m += 1


@numba.njit(cache=True)
def fill_binomial(s, n, p, out):  # pragma: no cover - compiled
    """out[j] = Bin(n[j], p[j]) (test and reference helper)."""
    for j in range(out.size):
        out[j] = binomial(s, n[j], p[j])
