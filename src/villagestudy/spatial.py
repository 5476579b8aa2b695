"""Spatial pattern of an indicator over village boundaries: are weak villages clustered?

Neighbours are villages whose boundaries share at least a point (Queen
contiguity, :class:`libpysal.weights.Queen`) or an edge (``"rook"``); weights
are row-standardised. Global Moran's I (Moran 1950) and the local indicators
of spatial association, LISA (Anselin 1995), come from :mod:`esda` with
conditional permutation p-values (seeded, so a report is reproducible).

Rules
-----
* Villages without a value (or without a polygon) are left out and the
  neighbours are found among the rest; their ids are in ``attrs["left_out"]``.
* Villages without any neighbour (islands) are left out too (their lag is
  undefined), listed in ``attrs["islands"]``.
* Fewer than 5 villages left, or a constant indicator: :class:`ValueError`
  naming the reason (no pattern can be tested).
* A yes/no indicator (e.g. ``weak_village``) enters as 0/1.

LISA clusters: ``HH`` (high value among high neighbours), ``LL``, ``HL`` (high
among low), ``LH``, where the local p-value is below ``alpha``; ``ns``
otherwise. With many villages, some ``HH``/``LL`` at ``alpha = 0.05`` arise by
chance (no multiple-testing correction): this is said in ``attrs["method"]``.

Example
-------
>>> import geopandas as gpd, pandas as pd, shapely
>>> cells = [shapely.box(i, j, i + 1, j + 1) for j in range(4) for i in range(4)]
>>> g = gpd.GeoDataFrame({"village_id": [f"v{k}" for k in range(16)]}, geometry=cells)
>>> board = pd.Series([(i + j) % 2 for j in range(4) for i in range(4)], index=g["village_id"], dtype=float)
>>> float(round(global_moran(g, board, contiguity="rook").loc[0, "moran_i"], 6))
-1.0
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["contiguity_weights", "village_neighbours", "global_moran", "local_moran", "LISA_LABELS", "MIN_UNITS"]

MIN_UNITS = 5
LISA_LABELS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def _check(boundaries, contiguity: str) -> None:
    if contiguity not in ("queen", "rook"):
        raise ValueError(f"contiguity must be 'queen' or 'rook', not {contiguity!r}")
    if "village_id" not in boundaries:
        raise ValueError("the boundaries need a village_id column")


def _with_polygon(boundaries):
    return boundaries[boundaries.geometry.notna() & ~boundaries.geometry.is_empty]


def _prepare(boundaries, values: pd.Series, contiguity: str, neighbours=None):
    _check(boundaries, contiguity)
    v = pd.Series(values)
    if pd.api.types.is_bool_dtype(v) or v.dtype == object:
        v = v.astype("boolean").astype("Float64") if v.dropna().isin([True, False]).all() else v
    v = pd.to_numeric(v, errors="coerce").astype(float)
    geo = _with_polygon(boundaries[["village_id", boundaries.geometry.name]].copy())
    geo["value"] = v.reindex(geo["village_id"]).to_numpy()
    left_out = sorted(set(map(str, v.index)) - set(geo.loc[geo["value"].notna(), "village_id"].astype(str)))
    geo = geo[geo["value"].notna()].reset_index(drop=True)
    if len(geo) < MIN_UNITS:
        raise ValueError(f"only {len(geo)} village(s) with a value and a boundary: at least {MIN_UNITS} are "
                         "needed to test a spatial pattern")
    w = _weights(geo, contiguity, neighbours)
    islands = sorted(map(str, w.islands))
    if islands:
        geo = geo[~geo["village_id"].astype(str).isin(islands)].reset_index(drop=True)
        w = _weights(geo, contiguity, neighbours)
    if len(geo) < MIN_UNITS:
        raise ValueError(f"only {len(geo)} village(s) with a value, a boundary and a neighbour: at least "
                         f"{MIN_UNITS} are needed to test a spatial pattern")
    if geo["value"].nunique() < 2:
        raise ValueError("the indicator is the same for every village: there is no pattern to test")
    w.transform = "r"
    return geo, w, left_out, islands


def _weights(geo, contiguity: str, neighbours):
    """Contiguity weights among the villages of ``geo``: built from their polygons, or taken from ``neighbours``."""
    if neighbours is None:
        return contiguity_weights(geo, contiguity=contiguity)
    from libpysal.weights import w_subset

    ids = geo["village_id"].astype(str).tolist()
    missing = sorted(set(ids) - set(map(str, neighbours.id_order)))
    if missing:
        raise ValueError(f"the neighbours were not made from these boundaries: no village {', '.join(missing[:5])}")
    # contiguity is between two polygons: among a subset it is the full study's, restricted
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*island.*")
        warnings.filterwarnings("ignore", message=".*not fully connected.*")
        return w_subset(neighbours, ids, silence_warnings=True)


def village_neighbours(boundaries, *, contiguity: str = "queen"):
    """Contiguity weights of every village with a polygon, for several indicators over the same boundaries.

    Pass them as ``neighbours=`` to :func:`global_moran` and :func:`local_moran`
    (with the same ``contiguity``): each then restricts them to the villages it
    tests instead of finding the neighbours again from the polygons (the same
    weights: contiguity is a property of two polygons).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> g = gpd.GeoDataFrame({"village_id": [f"v{k}" for k in range(9)]},
    ...                      geometry=[shapely.box(i, j, i + 1, j + 1) for j in range(3) for i in range(3)])
    >>> values = pd.Series([1.0, 2, 3, 2, 3, 4, 3, 4, 5], index=g["village_id"])
    >>> w = village_neighbours(g)
    >>> global_moran(g, values, neighbours=w).equals(global_moran(g, values))
    True
    """
    _check(boundaries, contiguity)
    return contiguity_weights(_with_polygon(boundaries), contiguity=contiguity)


def contiguity_weights(boundaries, *, contiguity: str = "queen"):
    """Contiguity weights of village polygons (``libpysal`` W, ids = ``village_id``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"village_id": ["a", "b", "c"]},
    ...                      geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 1, 3, 2)])
    >>> w = contiguity_weights(g)
    >>> sorted(w.neighbors["b"]), contiguity_weights(g, contiguity="rook").neighbors["c"]
    (['a', 'c'], [])
    """
    from libpysal.weights import Queen, Rook

    cls = Queen if contiguity == "queen" else Rook
    with warnings.catch_warnings():
        # islands are reported by the callers (attrs["islands"]), not as a bare warning
        warnings.filterwarnings("ignore", message=".*island.*")
        warnings.filterwarnings("ignore", message=".*not fully connected.*")
        return cls.from_dataframe(boundaries, ids=boundaries["village_id"].astype(str).tolist(), use_index=False)


def _method(contiguity: str, permutations: int, seed: int) -> str:
    return (f"{contiguity.capitalize()} contiguity of village boundaries, row-standardised weights; "
            f"{permutations} conditional permutations (seed {seed}); no correction for multiple tests")


def global_moran(boundaries, values: pd.Series, *, contiguity: str = "queen", permutations: int = 999,
                 seed: int = 0, neighbours=None) -> pd.DataFrame:
    """Global Moran's I of ``values`` (indexed by ``village_id``) over the village boundaries.

    ``I = (n / S0) * sum_ij w_ij z_i z_j / sum_i z_i**2`` with ``z`` the
    deviations from the mean and ``S0`` the sum of the weights; ``E[I] =
    -1 / (n - 1)``. Positive: similar values cluster; negative: neighbours
    differ (a checkerboard gives -1 with rook weights). ``neighbours``: the
    boundaries' :func:`village_neighbours` (same ``contiguity``), when several
    indicators are tested over them.

    Returns
    -------
    DataFrame
        One row: ``moran_i``, ``expected_i``, ``z``, ``p_value`` (permutation,
        two-sided: ``(1 + #{|I_perm - E| >= |I - E|}) / (1 + permutations)``),
        ``p_normal`` (normal approximation), ``n_villages``, ``method``;
        ``attrs``: left_out, islands, method.
    """
    import esda

    geo, w, left_out, islands = _prepare(boundaries, values, contiguity, neighbours)
    y = geo["value"].to_numpy()
    state = np.random.get_state()
    np.random.seed(seed)  # esda.Moran permutes with numpy's global generator
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            mi = esda.Moran(y, w, permutations=permutations)
    finally:
        np.random.set_state(state)
    # esda also computes the randomisation-assumption variance, negative for small, very kurtotic
    # samples (a 0/1 flag over a few villages): its square root warns. That statistic is not shown;
    # a warning is passed on only when a statistic the result shows is not a number.
    if not all(np.isfinite([mi.I, mi.z_norm, mi.p_norm])):
        for w_ in caught:
            warnings.warn_explicit(w_.message, w_.category, w_.filename, w_.lineno)
    centred = np.abs(mi.sim - mi.EI) >= abs(mi.I - mi.EI) - 1e-12
    p_two = (1 + centred.sum()) / (1 + permutations)
    method = _method(contiguity, permutations, seed)
    out = pd.DataFrame([{"moran_i": float(mi.I), "expected_i": float(mi.EI), "z": float(mi.z_norm),
                         "p_value": float(p_two), "p_normal": float(mi.p_norm), "n_villages": int(len(geo)),
                         "method": method}])
    out.attrs.update({"left_out": left_out, "islands": islands, "method": method})
    return out


def local_moran(boundaries, values: pd.Series, *, contiguity: str = "queen", permutations: int = 999,
                seed: int = 0, alpha: float = 0.05, neighbours=None) -> pd.DataFrame:
    """Local Moran's I (LISA) per village, with its cluster label.

    ``I_i = (n - 1) z_i lag_i / sum_j z_j**2`` with ``lag_i`` the mean of the
    neighbours' ``z`` (row-standardised weights), as :class:`esda.Moran_Local`.
    The p-value is esda's folded conditional-permutation p-value: the other
    n - 1 values are shuffled and k_i of them (k_i = the village's number of
    neighbours) placed around village i, ``permutations`` times;
    ``p = (1 + min(#{I* >= I}, #{I* < I})) / (1 + permutations)``. As in esda,
    one set of draws serves every village (each permutation draws k_max
    distinct positions among n - 1; village i takes the first k_i of them,
    positions skipping i itself), so the cost grows as ``permutations * n``
    (times the largest number of neighbours), not ``n**2``. It is computed
    here with numpy (seeded ``numpy.random.default_rng``) because esda's numba
    kernel takes minutes to compile in every new report kernel. ``neighbours``
    as in :func:`global_moran`.

    Returns
    -------
    DataFrame
        Indexed by ``village_id``: ``value``, ``local_i``, ``quadrant`` (HH,
        LH, LL, HL by the village's value and its neighbours' mean, both
        against the mean), ``p_value``, ``cluster`` (the quadrant where
        ``p_value < alpha``, else ``ns``). ``attrs``: left_out, islands,
        method, alpha.
    """
    geo, w, left_out, islands = _prepare(boundaries, values, contiguity, neighbours)
    ids = geo["village_id"].astype(str).tolist()
    pos = {v: k for k, v in enumerate(ids)}
    y = geo["value"].to_numpy(dtype=float)
    n = len(y)
    z = y - y.mean()
    den = float(np.sum(z * z))
    # summed in the villages' order, whatever order the weights list the neighbours in: the local I is then
    # the same to the last bit however the weights were built, and so is a permutation draw that ties with it
    nbrs = [np.sort(np.array([pos[str(j)] for j in w.neighbors[v]], dtype=np.int64)) for v in ids]
    lag = np.array([z[nb].mean() for nb in nbrs])
    local_i = (n - 1) * z * lag / den
    rng = np.random.default_rng(seed)
    k_max = max(len(nb) for nb in nbrs)
    # row r: k_max distinct positions among the n - 1 others, shared by every village (esda's scheme)
    draws = np.stack([rng.choice(n - 1, size=k_max, replace=False) for _ in range(permutations)])
    p = np.empty(n)
    for i in range(n):
        positions = draws[:, :len(nbrs[i])]
        positions = positions + (positions >= i)  # position i is the village itself: skip it
        sim = (n - 1) * z[i] * z[positions].mean(axis=1) / den
        larger = int(np.sum(sim >= local_i[i]))
        p[i] = (1 + min(larger, permutations - larger)) / (1 + permutations)
    quad = np.where(z > 0, np.where(lag > 0, "HH", "HL"), np.where(lag > 0, "LH", "LL"))
    out = pd.DataFrame({"value": y, "local_i": local_i, "quadrant": quad, "p_value": p,
                        "cluster": np.where(p < alpha, quad, "ns")},
                       index=pd.Index(ids, name="village_id"))
    out.attrs.update({"left_out": left_out, "islands": islands, "alpha": alpha,
                      "method": _method(contiguity, permutations, seed)})
    return out
