"""Regression models for village comparisons, returned as tidy tables.

Every function drops rows with a missing value in the variables it uses,
reports the rows used in ``n``, and returns a DataFrame with the columns::

    term, estimate, std_error, ci_low, ci_high, p_value, n

(plus model-specific columns noted below); model notes (number of groups,
covariance type, degrees of freedom, warnings) are in ``frame.attrs``.

Rules for refusing (:class:`InsufficientDataError`, a ``ValueError``):

=====================  ======================================================
model                  refused when
=====================  ======================================================
fixed_effects_ols      fewer than 2 groups; n < k + G + 2 (k predictors, G
                       groups: fewer than 2 residual degrees of freedom); a
                       predictor constant within every group
mixed_model            fewer than 5 groups; no group with 2 or more units;
                       n < k + 4; a singular design (a predictor constant or
                       a combination of others); a fit that fails, does not
                       converge, or has a Hessian that is not positive
                       definite (standard errors meaningless)
fractional_logit       n < k + 3 (and ``ValueError`` for shares outside 0-1)
=====================  ======================================================

Clustered standard errors (CR1, by ``group``) use t-based p-values and
intervals with G - 1 degrees of freedom (statsmodels ``use_t=True``), the
usual small-sample correction for few clusters. With fewer than 5 clusters
they are still computed but unreliable: a :class:`FewClustersWarning` is
issued and noted in ``attrs["notes"]``. For comparisons of villages within
towns use :func:`within_town_comparison`, which switches to the wild cluster
bootstrap below :data:`WILD_BELOW` towns and refuses below :data:`MIN_TOWNS`.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> d = pd.DataFrame({"town_id": np.repeat(range(8), 10), "x": rng.normal(size=80)})
>>> d["y"] = 2.0 * d["x"] + np.repeat(rng.normal(size=8), 10) + rng.normal(scale=0.5, size=80)
>>> t = fixed_effects_ols(d, "y", ["x"])
>>> t.loc[0, "term"], bool(abs(t.loc[0, "estimate"] - 2.0) < 0.3), int(t.loc[0, "n"])
('x', True, 80)
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["InsufficientDataError", "FewClustersWarning", "fixed_effects_ols", "mixed_model",
           "fractional_logit", "MIN_CLUSTERS", "MIN_TOWNS", "WILD_BELOW", "WEBB_BELOW",
           "wild_bootstrap_t", "within_town_comparison", "COMPARE_COLUMNS"]

MIN_CLUSTERS = 5
#: fewer towns than this: no inference at all, the comparison is descriptive only
MIN_TOWNS = 4
#: fewer clusters than this: wild cluster bootstrap instead of CR1 t (Cameron, Gelbach & Miller 2008)
WILD_BELOW = 30
#: fewer clusters than this: Webb's six-point weights instead of Rademacher (Webb 2023)
WEBB_BELOW = 12
COLUMNS = ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n"]
COMPARE_COLUMNS = ["term", "estimate", "ci_low", "ci_high", "p_value", "method", "n_villages", "n_clusters",
                   "warning"]


#: fewer groups than this: no random-intercept model (McNeish & Stapleton 2016)
MIN_GROUPS_MIXED = 5


def _plausible(bse: np.ndarray, y: pd.Series) -> bool:
    """Standard errors within a million times the outcome's spread (not numerically blown up)."""
    spread = float(np.nanstd(y.to_numpy())) or 1.0
    return bool(np.all(bse < 1e6 * spread))


class InsufficientDataError(ValueError):
    """Too few observations or groups for the requested model.

    ``code`` and ``fields`` name the reason for views that word it in another
    language (e.g. ``"few_towns"`` with ``{"g": 3, "n": 20, "min": 4}``).
    """

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.code = code
        self.fields = dict(fields or {})


class FewClustersWarning(UserWarning):
    """Cluster-robust standard errors from fewer than :data:`MIN_CLUSTERS` clusters."""


def _frame(table: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(f"column(s) not in the table: {', '.join(missing)}")
    data = table[list(cols)].dropna()
    return data


def _numeric(data: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    out = {}
    for c in cols:
        s = data[c]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(float)
        if not pd.api.types.is_numeric_dtype(s):
            raise ValueError(f"column '{c}' is not numeric (found {s.dtype})")
        out[c] = s.astype(float)
    return pd.DataFrame(out, index=data.index)


def _check_predictors(predictors: Sequence[str] | str) -> list[str]:
    preds = [predictors] if isinstance(predictors, str) else list(predictors)
    if not preds:
        raise ValueError("give at least one predictor")
    if len(set(preds)) != len(preds):
        raise ValueError("predictors are repeated")
    return preds


def _tidy(terms: list[str], est: np.ndarray, se: np.ndarray, n: int, df: float | None,
          level: float) -> pd.DataFrame:
    from scipy import stats as sps  # here, not at the top: scipy.stats alone takes 1 s to import

    est, se = np.asarray(est, float), np.asarray(se, float)
    q = 1 - (1 - level) / 2
    crit = sps.t.ppf(q, df) if df is not None else sps.norm.ppf(q)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = est / se
        p = 2 * (sps.t.sf(np.abs(stat), df) if df is not None else sps.norm.sf(np.abs(stat)))
    return pd.DataFrame({"term": terms, "estimate": est, "std_error": se, "ci_low": est - crit * se,
                         "ci_high": est + crit * se, "p_value": p, "n": n})


def _few_clusters(n_groups: int, notes: list[str]) -> None:
    if n_groups < MIN_CLUSTERS:
        msg = (f"only {n_groups} groups: cluster-robust standard errors need about {MIN_CLUSTERS} or more "
               f"and are unreliable here (t with {n_groups - 1} df used)")
        warnings.warn(msg, FewClustersWarning, stacklevel=3)
        notes.append(msg)


def fixed_effects_ols(table: pd.DataFrame, outcome: str, predictors: Sequence[str] | str,
                      group: str = "town_id", *, level: float = 0.95) -> pd.DataFrame:
    """OLS with group fixed effects and group-clustered standard errors.

    Model: ``y_ig = a_g + x_ig' b + e_ig`` (a dummy per group ``g``); ``b`` is
    estimated from within-group variation only. Standard errors are CR1
    clustered by group; p-values and intervals use t with G - 1 df.

    Parameters
    ----------
    table : DataFrame
    outcome : str
    predictors : list of str
    group : str
        Column with the group (e.g. the town of each village).
    level : float
        Confidence level of ``ci_low``/``ci_high``.

    Returns
    -------
    DataFrame
        One row per predictor (the group effects are not reported);
        ``attrs``: model, n_groups, df, cov_type, r2_within, notes.

    Examples
    --------
    See the module docstring.
    """
    # the one model class, not statsmodels.api (which imports every model, about 0.5 s more)
    from statsmodels.regression.linear_model import OLS

    preds = _check_predictors(predictors)
    data = _frame(table, [outcome, *preds, group])
    n, n_groups = len(data), data[group].nunique()
    if n_groups < 2:
        raise InsufficientDataError(f"fixed effects need at least 2 groups in '{group}'; found {n_groups} "
                                    f"(after dropping {len(table) - n} rows with missing values)")
    need = len(preds) + n_groups + 2
    if n < need:
        raise InsufficientDataError(f"fixed effects with {len(preds)} predictor(s) and {n_groups} groups need "
                                    f"at least {need} complete rows; found {n}")
    num = _numeric(data, [outcome, *preds])
    within = num[preds] - num[preds].groupby(data[group]).transform("mean")
    flat = [p for p in preds if np.allclose(within[p].to_numpy(), 0.0)]
    if flat:
        raise InsufficientDataError(f"predictor(s) {', '.join(flat)} do not vary within any group: "
                                    "their effect is absorbed by the group fixed effects")
    codes = pd.factorize(data[group])[0]
    notes: list[str] = []
    _few_clusters(n_groups, notes)
    # Frisch-Waugh-Lovell: OLS on the demeaned data gives the estimates and residuals of OLS with a
    # dummy per group, without the n x G dummy matrix (1,300 towns: seconds of SVD, gigabytes)
    y_within = num[outcome] - num[outcome].groupby(data[group]).transform("mean")
    res = OLS(y_within, within).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    # the groups are the clusters, so the dummies add nothing to the CR1 meat; only statsmodels' small-sample
    # factor (n - 1) / (n - k) counts columns: k is p here, p + G (constant and G - 1 dummies) with dummies
    dummy_df = np.sqrt((n - len(preds)) / (n - len(preds) - n_groups))
    out = _tidy(preds, res.params[preds].to_numpy(), res.bse[preds].to_numpy() * dummy_df, n, n_groups - 1, level)
    ss = float(np.sum(y_within**2))
    out.attrs.update({"model": "OLS with group fixed effects", "group": group, "n_groups": int(n_groups),
                      "df": int(n_groups - 1), "cov_type": "cluster-robust (CR1) by group",
                      "r2_within": float(1 - np.sum(res.resid**2) / ss) if ss > 0 else float("nan"),
                      "notes": notes})
    return out


def mixed_model(table: pd.DataFrame, outcome: str, predictors: Sequence[str] | str,
                group: str = "town_id", *, level: float = 0.95, reml: bool = True) -> pd.DataFrame:
    """Linear mixed model with a random intercept per group (villages nested in towns).

    Model: ``y_ig = b0 + x_ig' b + u_g + e_ig``, ``u_g ~ N(0, tau^2)``,
    ``e_ig ~ N(0, sigma^2)``, fitted by REML (statsmodels ``MixedLM``).
    Standard errors are model-based; p-values and intervals are normal (z).

    Returns
    -------
    DataFrame
        Rows ``Intercept`` and each predictor; ``attrs``: n_groups,
        group_variance (tau^2), residual_variance (sigma^2),
        icc = tau^2 / (tau^2 + sigma^2), converged, notes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"town_id": np.repeat(range(10), 8), "x": rng.normal(size=80)})
    >>> d["y"] = 1 + 0.5 * d["x"] + np.repeat(rng.normal(size=10), 8) + rng.normal(scale=0.3, size=80)
    >>> float(round(mixed_model(d, "y", ["x"]).set_index("term").loc["x", "estimate"], 1))
    0.5
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    preds = _check_predictors(predictors)
    data = _frame(table, [outcome, *preds, group])
    n = len(data)
    sizes = data[group].value_counts()
    n_groups = len(sizes)
    if n_groups < MIN_GROUPS_MIXED:
        raise InsufficientDataError(
            f"a random intercept needs at least {MIN_GROUPS_MIXED} groups in '{group}'; found {n_groups}: "
            "the variance between groups cannot be estimated from fewer (use within_town_comparison)")
    if sizes.max() < 2:
        raise InsufficientDataError("every group has a single unit: the group and residual variances cannot "
                                    "be told apart")
    if n < len(preds) + 4:
        raise InsufficientDataError(f"mixed model with {len(preds)} predictor(s) needs at least "
                                    f"{len(preds) + 4} complete rows; found {n}")
    num = _numeric(data, [outcome, *preds])
    x = pd.concat([pd.Series(1.0, index=data.index, name="Intercept"), num[preds]], axis=1)
    rank = np.linalg.matrix_rank(x.to_numpy())
    if rank < x.shape[1]:
        flat = [p for p in preds if num[p].nunique() < 2]
        why = (f"{', '.join(flat)} constant" if flat else
               "a predictor is a linear combination of the others")
        raise InsufficientDataError(f"singular design for the mixed model ({why}; rank {rank} of {x.shape[1]} "
                                    f"columns over {n} rows)")
    notes: list[str] = []
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = MixedLM(num[outcome], x, groups=pd.factorize(data[group])[0]).fit(reml=reml, method="lbfgs")
        except (np.linalg.LinAlgError, ValueError) as e:
            raise InsufficientDataError(f"the mixed model could not be fitted ({type(e).__name__}: {e})") from None
    for w in caught:
        text = str(w.message)
        if "not positive definite" in text:
            problems.append(text)
        else:
            notes.append(f"{w.category.__name__}: {text}")
    bse = np.asarray(res.bse_fe, dtype=float)
    if not res.converged:
        problems.append("the optimiser did not converge")
    if not np.all(np.isfinite(bse)):
        problems.append("standard errors are not finite")
    elif not _plausible(bse, num[outcome]):
        problems.append("standard errors are a million times the outcome's spread")
    if problems:
        raise InsufficientDataError("the mixed model fit is degenerate: " + "; ".join(dict.fromkeys(problems))
                                    + f" ({n_groups} groups, {n} rows); its estimates are not reported")
    terms = ["Intercept", *preds]
    out = _tidy(terms, res.fe_params[terms].to_numpy(), res.bse_fe[terms].to_numpy(), n, None, level)
    tau2 = float(res.cov_re.iloc[0, 0])
    sigma2 = float(res.scale)
    if tau2 < 1e-10:
        notes.append("group variance estimated at 0 (the boundary): no detectable between-group variation; "
                     "the fit is pooled OLS")
    out.attrs.update({"model": "linear mixed model, random intercept by group", "group": group,
                      "n_groups": int(n_groups), "group_variance": tau2, "residual_variance": sigma2,
                      "icc": tau2 / (tau2 + sigma2) if tau2 + sigma2 > 0 else float("nan"),
                      "method": "REML" if reml else "ML", "converged": bool(res.converged), "notes": notes})
    return out


def fractional_logit(table: pd.DataFrame, outcome_share: str, predictors: Sequence[str] | str,
                     group: str | None = None, *, level: float = 0.95) -> pd.DataFrame:
    """Fractional logit (Papke-Wooldridge) for a share in [0, 1].

    Quasi-likelihood GLM, Binomial family, logit link:
    ``E[y | x] = 1 / (1 + exp(-(b0 + x'b)))``. Standard errors are robust
    (HC1 sandwich, z-based) or, with ``group``, clustered by group (CR1, t with
    G - 1 df). Coefficients are on the log-odds scale; the extra column
    ``marginal_effect`` is the average partial effect on the share,
    ``mean(p (1 - p)) * b``.

    Raises
    ------
    ValueError
        If a share lies outside [0, 1] (percentages must be divided by 100).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"x": rng.normal(size=400)})
    >>> d["share"] = 1 / (1 + np.exp(-(-0.5 + 1.0 * d["x"] + rng.normal(scale=0.3, size=400))))
    >>> float(round(fractional_logit(d, "share", ["x"]).set_index("term").loc["x", "estimate"], 1))
    1.0
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    preds = _check_predictors(predictors)
    cols = [outcome_share, *preds] + ([group] if group is not None else [])
    data = _frame(table, cols)
    n = len(data)
    num = _numeric(data, [outcome_share, *preds])
    y = num[outcome_share]
    bad = y[(y < 0) | (y > 1)]
    if len(bad):
        raise ValueError(f"'{outcome_share}' must be a share in [0, 1]; {len(bad)} value(s) outside, e.g. "
                         f"{bad.iloc[0]!r} (divide percentages by 100)")
    if n < len(preds) + 3:
        raise InsufficientDataError(f"fractional logit with {len(preds)} predictor(s) needs at least "
                                    f"{len(preds) + 3} complete rows; found {n}")
    x = pd.concat([pd.Series(1.0, index=data.index, name="Intercept"), num[preds]], axis=1)
    notes: list[str] = []
    model = GLM(y, x, family=families.Binomial())
    if group is None:
        res = model.fit(cov_type="HC1")
        df, n_groups, cov = None, None, "heteroskedasticity-robust (HC1)"
    else:
        n_groups = int(data[group].nunique())
        if n_groups < 2:
            raise InsufficientDataError(f"clustered errors need at least 2 groups in '{group}'; found {n_groups}")
        _few_clusters(n_groups, notes)
        res = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[group])[0]}, use_t=True)
        df, cov = n_groups - 1, "cluster-robust (CR1) by group"
    terms = ["Intercept", *preds]
    out = _tidy(terms, res.params[terms].to_numpy(), res.bse[terms].to_numpy(), n, df, level)
    p = res.fittedvalues.to_numpy()
    scale = float(np.mean(p * (1 - p)))
    out["marginal_effect"] = np.where(out["term"] == "Intercept", np.nan, out["estimate"] * scale)
    out.attrs.update({"model": "fractional logit (GLM Binomial, logit link)", "group": group,
                      "n_groups": n_groups, "df": df, "cov_type": cov, "notes": notes})
    return out


# ------------------------------------------------------------------ few clusters
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_RADEMACHER = np.array([-1.0, 1.0])


def bootstrap_weights(n_clusters: int, kind: str, *, draws: int = 9999, seed: int = 0) -> tuple[np.ndarray, bool]:
    """Wild bootstrap weights, one row per draw and one column per cluster.

    Every combination of the support points (full enumeration) when there are
    at most ``draws`` of them (``2**G`` for Rademacher, ``6**G`` for Webb),
    else ``draws`` seeded random rows. Returns ``(weights, enumerated)``.

    Examples
    --------
    >>> w, full = bootstrap_weights(3, "rademacher")
    >>> w.shape, full
    ((8, 3), True)
    """
    support = {"rademacher": _RADEMACHER, "webb": _WEBB}.get(kind)
    if support is None:
        raise ValueError(f"weights must be 'rademacher' or 'webb', not {kind!r}")
    total = len(support) ** n_clusters
    if total <= draws:
        idx = np.indices((len(support),) * n_clusters).reshape(n_clusters, -1).T
        return support[idx], True
    rng = np.random.default_rng(seed)
    return support[rng.integers(0, len(support), size=(draws, n_clusters))], False


def wild_bootstrap_t(y: np.ndarray, x: np.ndarray, codes: np.ndarray, column: int, weights: np.ndarray,
                     null: float = 0.0) -> tuple[float, np.ndarray]:
    """Restricted wild cluster bootstrap (WCR) t statistics for one coefficient.

    The "11" bootstrap of Roodman, MacKinnon, Nielsen & Webb (2019): the model
    is refitted under ``H0: b[column] = null`` giving restricted residuals
    ``u~``; bootstrap outcomes are ``y* = X b~ + v_g u~`` with one weight
    ``v_g`` per cluster; each ``t*`` uses CR1 standard errors. Computed in
    closed form for all draws at once (no refit per draw).

    Parameters
    ----------
    y : ndarray (n,)
    x : ndarray (n, k)
        Full design, including the constant and any fixed-effect dummies.
    codes : ndarray (n,) of int 0..G-1
        Cluster of each row.
    column : int
        Coefficient tested.
    weights : ndarray (B, G)
        Bootstrap weights (see :func:`bootstrap_weights`).
    null : float

    Returns
    -------
    (t, t_boot) : float, ndarray (B,)
        The sample t statistic ``(b - null) / se_CR1`` and its bootstrap draws.
        The two-sided p-value is ``mean(|t_boot| >= |t|)``.
    """
    return _WildBootstrap(y, x, codes, column, weights).t(null)


class _WildBootstrap:
    """:func:`wild_bootstrap_t` of one coefficient at any null, with what does not depend on the null done once.

    The restricted residuals are linear in the null, ``u~(b0) = M (y - b0 x_j)
    = u_y - b0 u_x`` (``M`` the residual maker of the design without column
    ``j``), and so are the cluster scores and every bootstrap numerator and
    score built from them. Both parts are computed once; a null then costs a
    few operations on the (B, G) draws, which test inversion
    (:func:`_confidence_set`) repeats a hundred times or more.
    """

    def __init__(self, y: np.ndarray, x: np.ndarray, codes: np.ndarray, column: int, weights: np.ndarray) -> None:
        n, k = x.shape
        g_count = int(codes.max()) + 1
        self.c = g_count / (g_count - 1) * (n - 1) / (n - k)
        members = [codes == g for g in range(g_count)]
        xtx_inv = np.linalg.pinv(x.T @ x)
        a = xtx_inv[column]
        beta = xtx_inv @ (x.T @ y)
        u = y - x @ beta
        s_hat = np.stack([x[m].T @ u[m] for m in members])                               # G x k
        self.estimate, self.se = beta[column], np.sqrt(self.c * np.sum((s_hat @ a) ** 2))
        # restricted fit: the null moves into the outcome and the column is dropped
        keep = [j for j in range(k) if j != column]
        both = np.column_stack([y, x[:, column]])
        fitted, *_ = np.linalg.lstsq(x[:, keep], both, rcond=None)
        resid = both - x[:, keep] @ fitted                                                 # u_y, u_x
        # d[h] = a' X_h'X_h (X'X)^-1, so that cmat[h, g] = d[h] . s_g (one four-index einsum is ~100x slower)
        d = np.stack([a @ (x[m].T @ x[m]) for m in members]) @ xtx_inv                    # G x k
        self.num, self.scores = [], []
        for part in (resid[:, 0], resid[:, 1]):
            s = np.stack([x[m].T @ part[m] for m in members])                             # G x k
            q = s @ a                                                                      # G
            self.num.append(weights @ q)
            self.scores.append(weights * q[None, :] - weights @ (d @ s.T).T)
        # the squared scores of a null b0, summed over clusters: yy - 2 b0 yx + b0^2 xx (per draw)
        sy, sx = self.scores
        self.yy, self.yx, self.xx = np.sum(sy * sy, axis=1), np.sum(sy * sx, axis=1), np.sum(sx * sx, axis=1)

    def t(self, null: float = 0.0) -> tuple[float, np.ndarray]:
        """The sample t statistic at ``null`` and its bootstrap draws."""
        squares = self.yy - 2 * null * self.yx + null * null * self.xx
        # where the expansion cancels (scores near zero at this null), the draw is summed again directly
        inexact = squares <= 1e-9 * (self.yy + null * null * self.xx)
        if inexact.any():
            direct = self.scores[0][inexact] - null * self.scores[1][inexact]
            squares[inexact] = np.sum(direct * direct, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            t_boot = (self.num[0] - null * self.num[1]) / np.sqrt(self.c * squares)
        return float((self.estimate - null) / self.se), t_boot


def _p_value(t: float, t_boot: np.ndarray) -> float:
    # a draw equal to |t| up to rounding counts (the all-ones draw reproduces t exactly)
    return float(np.mean(np.abs(t_boot) >= abs(t) * (1 - 1e-7)))


def _min_p(weights: np.ndarray) -> float:
    """Smallest attainable p-value: the draws equal to +-(all ones) reproduce |t| whatever the data."""
    same = np.all(np.abs(weights) == np.abs(weights[:, :1]), axis=1) & (np.abs(weights[:, 0]) == 1.0)
    same &= np.all(np.sign(weights) == np.sign(weights[:, :1]), axis=1)
    return float(same.sum()) / len(weights)


def _confidence_set(bootstrap: _WildBootstrap, weights: np.ndarray, estimate: float, se: float,
                    alpha: float) -> tuple[float, float]:
    """Test inversion: the interval around ``estimate`` of nulls the bootstrap does not reject.

    Steps outward from the estimate by doubling multiples of ``se`` until the
    p-value drops below ``alpha`` (else that side is unbounded, +-inf), then
    bisects to 1e-6 of a standard error.
    """
    def p_at(b0):
        return _p_value(*bootstrap.t(b0))

    step = se if np.isfinite(se) and se > 0 else max(abs(estimate), 1.0)
    bounds = []
    if _min_p(weights) >= alpha:  # no null can be rejected: the whole line
        return -np.inf, np.inf
    for sign in (-1.0, 1.0):
        inside, outside = estimate, None
        mult = 0.5
        for _ in range(24):
            cand = estimate + sign * mult * step
            if p_at(cand) < alpha:
                outside = cand
                break
            inside = cand
            mult *= 2
        if outside is None:
            bounds.append(sign * np.inf)
            continue
        for _ in range(60):
            if abs(outside - inside) <= 1e-6 * step:
                break
            mid = (inside + outside) / 2
            if p_at(mid) < alpha:
                outside = mid
            else:
                inside = mid
        bounds.append((inside + outside) / 2)
    return bounds[0], bounds[1]


def within_town_comparison(table: pd.DataFrame, outcome: str, predictors: Sequence[str] | str,
                           group: str = "town_id", *, level: float = 0.95, weights: str = "auto",
                           draws: int = 9999, seed: int = 0, min_clusters: int = MIN_TOWNS) -> pd.DataFrame:
    """Villages compared within their towns: town fixed effects, inference fit for the number of towns.

    The model is that of :func:`fixed_effects_ols` (``y = a_town + x'b + e``).
    How the p-values and intervals are obtained depends on the number of towns
    G (clusters):

    ============  ==========================================================
    G             inference
    ============  ==========================================================
    < 4           refused: the comparison is descriptive only
                  (:class:`InsufficientDataError` naming the reason)
    4 to 11       wild cluster bootstrap, restricted (WCR), Webb six-point
                  weights (all ``6**G`` draws when at most ``draws``)
    12 to 29      wild cluster bootstrap, restricted, Rademacher weights
                  (all ``2**G`` draws when at most ``draws``)
    30 and more   CR1 cluster-robust standard errors, t with G - 1 df
    ============  ==========================================================

    Bootstrap p-values are ``mean(|t*| >= |t|)``; the interval is the set of
    nulls not rejected at ``1 - level`` (test inversion), possibly unbounded
    (``-inf``/``inf``) when there are too few towns to reject anything.
    Cameron, Gelbach & Miller (2008); Roodman, MacKinnon, Nielsen & Webb
    (2019); Webb (2023) for the six-point weights.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS`: ``term``, ``estimate``, ``ci_low``,
        ``ci_high``, ``p_value``, ``method`` (in words), ``n_villages``,
        ``n_clusters``, ``warning`` (empty when none), plus ``std_error`` (CR1).
        ``attrs``: method, n_villages, n_clusters, draws, enumerated, warnings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> d = pd.DataFrame({"town_id": np.repeat(range(5), 12), "x": rng.normal(size=60)})
    >>> d["y"] = d["x"] + np.repeat(rng.normal(size=5), 12) + rng.normal(scale=0.3, size=60)
    >>> t = within_town_comparison(d, "y", ["x"])
    >>> "wild cluster bootstrap" in t.loc[0, "method"], int(t.loc[0, "n_clusters"])
    (True, 5)
    """
    preds = _check_predictors(predictors)
    data = _frame(table, [outcome, *preds, group])
    n, n_groups = len(data), int(data[group].nunique())
    if n_groups < min_clusters:
        raise InsufficientDataError(
            f"only {n_groups} town(s) with complete data in '{group}' ({n} villages): at least {min_clusters} "
            "are needed for any inference on differences within towns; the comparison is descriptive only",
            code="few_towns", fields={"g": n_groups, "n": n, "min": min_clusters})
    base = fixed_effects_ols  # same checks and the same point estimates and CR1 errors
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FewClustersWarning)
        fit = base(data, outcome, preds, group, level=level)
    warn = [str(w.message) for w in caught if issubclass(w.category, FewClustersWarning)]
    codes_: list[tuple[str, dict]] = []  # the warnings as (code, fields), for views in other languages
    out = fit[["term", "estimate", "std_error"]].copy()
    if n_groups >= WILD_BELOW:
        out["ci_low"], out["ci_high"], out["p_value"] = fit["ci_low"], fit["ci_high"], fit["p_value"]
        method = f"OLS, town fixed effects; CR1 town-clustered errors, t with {n_groups - 1} df"
        enumerated, n_draws, kind = None, None, None
    else:
        kind = weights if weights != "auto" else ("webb" if n_groups < WEBB_BELOW else "rademacher")
        num = _numeric(data, [outcome, *preds])
        codes = pd.factorize(data[group])[0]
        dummies = pd.get_dummies(pd.Categorical(codes), drop_first=True, dtype=float).to_numpy()
        x = np.column_stack([np.ones(n), num[preds].to_numpy(), dummies])
        y = num[outcome].to_numpy()
        w, enumerated = bootstrap_weights(n_groups, kind, draws=draws, seed=seed)
        n_draws = len(w)
        pv, lo, hi = [], [], []
        for j, term in enumerate(preds, start=1):
            bootstrap = _WildBootstrap(y, x, codes, j, w)
            pv.append(_p_value(*bootstrap.t(0.0)))
            est, se = fit.loc[j - 1, "estimate"], fit.loc[j - 1, "std_error"]
            a, b = _confidence_set(bootstrap, w, est, se, 1 - level)
            lo.append(a)
            hi.append(b)
        out["ci_low"], out["ci_high"], out["p_value"] = lo, hi, pv
        how = f"all {n_draws} draws" if enumerated else f"{n_draws} random draws, seed {seed}"
        method = (f"OLS, town fixed effects; wild cluster bootstrap (restricted, {kind.capitalize()} weights, "
                  f"{how}) by town; {int(level * 100)}% confidence set by test inversion")
        warn = [f"only {n_groups} towns: conventional clustered standard errors are unreliable, "
                "p-values and intervals come from the wild cluster bootstrap"]
        codes_ = [("few_towns", {"g": n_groups})]
        if kind == "rademacher" and enumerated and 2.0 / n_draws > 1 - level:
            warn.append(f"with {n_groups} towns Rademacher weights cannot give a p-value below {2 / n_draws:.3f}")
            codes_.append(("p_floor", {"g": n_groups, "p": f"{2 / n_draws:.3f}"}))
        unbounded = [tm for tm, a, b in zip(preds, lo, hi) if not (np.isfinite(a) and np.isfinite(b))]
        if unbounded:
            warn.append(f"confidence set unbounded for {', '.join(unbounded)}: too few towns to exclude any value")
            codes_.append(("unbounded", {"terms": unbounded}))
    out["method"] = method
    out["n_villages"] = n
    out["n_clusters"] = n_groups
    out["warning"] = "; ".join(warn)
    out = out[COMPARE_COLUMNS[:5] + ["std_error"] + COMPARE_COLUMNS[5:]]
    out.attrs.update({"model": "OLS with town fixed effects", "group": group, "method": method,
                      "n_villages": n, "n_clusters": n_groups, "draws": n_draws, "enumerated": enumerated,
                      "weights": kind, "level": level, "seed": seed,
                      "inference": "CR1" if kind is None else "wild cluster bootstrap",
                      "warnings": warn, "warning_codes": codes_, "r2_within": fit.attrs.get("r2_within")})
    return out
