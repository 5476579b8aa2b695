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
mixed_model            fewer than 3 groups; no group with 2 or more units;
                       n < k + 4
fractional_logit       n < k + 3 (and ``ValueError`` for shares outside 0-1)
=====================  ======================================================

Clustered standard errors (CR1, by ``group``) use t-based p-values and
intervals with G - 1 degrees of freedom (statsmodels ``use_t=True``), the
usual small-sample correction for few clusters. With fewer than 5 clusters
they are still computed but unreliable: a :class:`FewClustersWarning` is
issued and noted in ``attrs["notes"]``.

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
from scipy import stats as sps

__all__ = ["InsufficientDataError", "FewClustersWarning", "fixed_effects_ols", "mixed_model",
           "fractional_logit", "MIN_CLUSTERS"]

MIN_CLUSTERS = 5
COLUMNS = ["term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n"]


class InsufficientDataError(ValueError):
    """Too few observations or groups for the requested model."""


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

    Example
    -------
    See the module docstring.
    """
    import statsmodels.api as sm

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
    dummies = pd.get_dummies(pd.Categorical(codes), prefix="g", drop_first=True, dtype=float)
    dummies.index = data.index
    x = pd.concat([pd.Series(1.0, index=data.index, name="const"), num[preds], dummies], axis=1)
    notes: list[str] = []
    _few_clusters(n_groups, notes)
    res = sm.OLS(num[outcome], x).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    out = _tidy(preds, res.params[preds].to_numpy(), res.bse[preds].to_numpy(), n, n_groups - 1, level)
    resid_within = num[outcome] - num[outcome].groupby(data[group]).transform("mean")
    ss = float(np.sum(resid_within**2))
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

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"town_id": np.repeat(range(10), 8), "x": rng.normal(size=80)})
    >>> d["y"] = 1 + 0.5 * d["x"] + np.repeat(rng.normal(size=10), 8) + rng.normal(scale=0.3, size=80)
    >>> float(round(mixed_model(d, "y", ["x"]).set_index("term").loc["x", "estimate"], 1))
    0.5
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    preds = _check_predictors(predictors)
    data = _frame(table, [outcome, *preds, group])
    n = len(data)
    sizes = data[group].value_counts()
    n_groups = len(sizes)
    if n_groups < 3:
        raise InsufficientDataError(f"a random intercept needs at least 3 groups in '{group}'; found {n_groups}")
    if sizes.max() < 2:
        raise InsufficientDataError("every group has a single unit: the group and residual variances cannot "
                                    "be told apart")
    if n < len(preds) + 4:
        raise InsufficientDataError(f"mixed model with {len(preds)} predictor(s) needs at least "
                                    f"{len(preds) + 4} complete rows; found {n}")
    num = _numeric(data, [outcome, *preds])
    x = pd.concat([pd.Series(1.0, index=data.index, name="Intercept"), num[preds]], axis=1)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = sm.MixedLM(num[outcome], x, groups=pd.factorize(data[group])[0]).fit(reml=reml, method="lbfgs")
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append(f"convergence: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    terms = ["Intercept", *preds]
    out = _tidy(terms, res.fe_params[terms].to_numpy(), res.bse_fe[terms].to_numpy(), n, None, level)
    tau2 = float(res.cov_re.iloc[0, 0])
    sigma2 = float(res.scale)
    if tau2 < 1e-10:
        notes.append("group variance estimated at 0: no detectable between-group variation")
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

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"x": rng.normal(size=400)})
    >>> d["share"] = 1 / (1 + np.exp(-(-0.5 + 1.0 * d["x"] + rng.normal(scale=0.3, size=400))))
    >>> float(round(fractional_logit(d, "share", ["x"]).set_index("term").loc["x", "estimate"], 1))
    1.0
    """
    import statsmodels.api as sm

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
    model = sm.GLM(y, x, family=sm.families.Binomial())
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
