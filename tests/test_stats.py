"""Tests of villagestudy.stats on synthetic data with known coefficients."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from villagestudy.stats import (COLUMNS, COMPARE_COLUMNS, FewClustersWarning, InsufficientDataError,
                                bootstrap_weights, fixed_effects_ols, fractional_logit, mixed_model,
                                wild_bootstrap_t, within_town_comparison)


def villages(n_towns: int = 12, per_town: int = 15, seed: int = 0) -> pd.DataFrame:
    """y = town effect + 1.5 x1 - 0.8 x2 + noise; x1 correlated with the town effect (FE needed)."""
    rng = np.random.default_rng(seed)
    town = np.repeat(np.arange(n_towns), per_town)
    effect = rng.normal(scale=2.0, size=n_towns)[town]
    x1 = 0.7 * effect + rng.normal(size=town.size)
    x2 = rng.normal(size=town.size)
    y = 3.0 + effect + 1.5 * x1 - 0.8 * x2 + rng.normal(scale=0.5, size=town.size)
    share = 1 / (1 + np.exp(-(-0.4 + 0.9 * x2 + rng.normal(scale=0.3, size=town.size))))
    return pd.DataFrame({"town_id": [f"T{k:02d}" for k in town], "x1": x1, "x2": x2, "y": y, "share": share})


def test_fixed_effects_recovers_coefficients_and_uses_g_minus_1_df():
    d = villages()
    out = fixed_effects_ols(d, "y", ["x1", "x2"])
    assert list(out.columns) == COLUMNS
    est = out.set_index("term")["estimate"]
    assert est["x1"] == pytest.approx(1.5, abs=0.1)
    assert est["x2"] == pytest.approx(-0.8, abs=0.1)
    assert (out["n"] == len(d)).all()
    assert out.attrs["n_groups"] == 12 and out.attrs["df"] == 11
    row = out.iloc[0]
    t = row.estimate / row.std_error
    assert row.p_value == pytest.approx(2 * sps.t.sf(abs(t), 11))
    assert row.ci_high - row.estimate == pytest.approx(sps.t.ppf(0.975, 11) * row.std_error)
    assert (out["ci_low"] < out["estimate"]).all() and (out["estimate"] < out["ci_high"]).all()
    assert out.attrs["r2_within"] > 0.8


def _dummy_cr1(d: pd.DataFrame, outcome: str, predictors: list[str], group: str) -> tuple[np.ndarray, np.ndarray]:
    """OLS with a constant and G - 1 group dummies, CR1 errors clustered by group, written out by hand."""
    codes = pd.factorize(d[group])[0]
    g = codes.max() + 1
    x = np.column_stack([np.ones(len(d)), d[predictors].to_numpy(float), np.eye(g)[codes][:, 1:]])
    y = d[outcome].to_numpy(float)
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    u = y - x @ beta
    scores = np.array([x[codes == k].T @ u[codes == k] for k in range(g)])
    n, k = x.shape
    cov = g / (g - 1) * (n - 1) / (n - k) * bread @ (scores.T @ scores) @ bread
    p = len(predictors)
    return beta[1:1 + p], np.sqrt(np.diag(cov)[1:1 + p])


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(2, 9), min_size=2, max_size=40), seed=st.integers(0, 2**16))
def test_fixed_effects_equal_ols_with_a_dummy_per_group(sizes, seed):
    """Estimates and CR1 errors of the demeaned fit are those of the dummy regression, any group sizes."""
    rng = np.random.default_rng(seed)
    town = np.repeat(np.arange(len(sizes)), sizes)
    d = pd.DataFrame({"town_id": town, "x1": rng.normal(size=town.size) + town,
                      "x2": rng.exponential(scale=1e4, size=town.size)})
    d["y"] = 0.5 * d["x1"] - 2e-4 * d["x2"] + rng.normal(size=len(sizes))[town] + rng.normal(size=town.size)
    if len(d) < len(sizes) + 4:  # the function refuses (no residual df): checked elsewhere
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        out = fixed_effects_ols(d, "y", ["x1", "x2"])
    beta, se = _dummy_cr1(d, "y", ["x1", "x2"], "town_id")
    assert out["estimate"].to_numpy() == pytest.approx(beta, rel=1e-7, abs=1e-12)
    assert out["std_error"].to_numpy() == pytest.approx(se, rel=1e-7)


def test_fixed_effects_drops_missing_and_reports_n():
    d = villages()
    d.loc[[0, 5, 9], "x2"] = np.nan
    d.loc[20, "y"] = np.nan
    out = fixed_effects_ols(d, "y", ["x1", "x2"])
    assert (out["n"] == len(d) - 4).all()


def test_fixed_effects_refusals():
    d = villages(n_towns=12, per_town=15)
    with pytest.raises(InsufficientDataError, match="at least 2 groups"):
        fixed_effects_ols(d[d.town_id == "T00"], "y", ["x1"])
    small = d.groupby("town_id").head(1)          # 12 rows, 12 towns: no residual df
    with pytest.raises(InsufficientDataError, match="complete rows"):
        fixed_effects_ols(small, "y", ["x1"])
    const = d.assign(tv=d.groupby("town_id")["x1"].transform("mean"))
    with pytest.raises(InsufficientDataError, match="do not vary within"):
        fixed_effects_ols(const, "y", ["x1", "tv"])
    assert issubclass(InsufficientDataError, ValueError)
    with pytest.raises(ValueError, match="not in the table"):
        fixed_effects_ols(d, "y", ["nope"])
    with pytest.raises(ValueError, match="not numeric"):
        fixed_effects_ols(d.assign(txt="a"), "y", ["txt"])


def test_fixed_effects_warns_with_few_clusters():
    d = villages(n_towns=3, per_town=20)
    with pytest.warns(FewClustersWarning, match="only 3 groups"):
        out = fixed_effects_ols(d, "y", ["x1", "x2"])
    assert out.attrs["df"] == 2 and out.attrs["notes"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed_effects_ols(villages(n_towns=5), "y", ["x1"])        # 5 clusters: no warning


def test_mixed_model_recovers_coefficients_and_variance():
    rng = np.random.default_rng(1)
    town = np.repeat(np.arange(30), 10)
    x = rng.normal(size=town.size)
    y = 2.0 + 0.7 * x + rng.normal(scale=1.0, size=30)[town] + rng.normal(scale=0.5, size=town.size)
    d = pd.DataFrame({"town_id": town, "x": x, "y": y})
    out = mixed_model(d, "y", ["x"])
    assert list(out.columns) == COLUMNS
    est = out.set_index("term")["estimate"]
    assert est["x"] == pytest.approx(0.7, abs=0.06)
    assert est["Intercept"] == pytest.approx(2.0, abs=0.5)
    assert out.attrs["group_variance"] == pytest.approx(1.0, rel=0.5)
    assert out.attrs["residual_variance"] == pytest.approx(0.25, rel=0.2)
    assert 0.6 < out.attrs["icc"] < 0.95
    assert out.attrs["n_groups"] == 30 and (out["n"] == 300).all()


def test_mixed_model_refusals():
    with pytest.raises(InsufficientDataError, match="at least 5 groups"):
        mixed_model(villages(n_towns=4), "y", ["x1"])          # the sample's four towns
    one_each = villages(n_towns=10, per_town=1)
    with pytest.raises(InsufficientDataError, match="single unit"):
        mixed_model(one_each, "y", ["x1"])
    tiny = villages(n_towns=5, per_town=2).iloc[[0, 1, 2, 4, 6, 8]]    # 6 rows, 5 towns
    with pytest.raises(InsufficientDataError, match="complete rows"):
        mixed_model(tiny, "y", ["x1", "x2", "share"])
    d = villages(n_towns=6)
    with pytest.raises(InsufficientDataError, match="singular design.*linear combination"):
        mixed_model(d.assign(x3=2 * d["x1"] - d["x2"]), "y", ["x1", "x2", "x3"])
    with pytest.raises(InsufficientDataError, match="singular design.*c constant"):
        mixed_model(d.assign(c=1.0), "y", ["x1", "c"])


def test_mixed_model_refuses_a_degenerate_fit_instead_of_reporting_it():
    # no town effect at all, an outcome in the tens of thousands: REML puts the town variance on the
    # boundary, the Hessian is not positive definite and the intercept's "standard error" explodes
    rng = np.random.default_rng(6)
    d = pd.DataFrame({"town_id": np.repeat(np.arange(5), 6), "x": rng.uniform(0.3, 0.7, 30).round(2),
                      "y": rng.normal(20000, 7000, 30).round(0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # nothing leaks as a bare warning either
        with pytest.raises(InsufficientDataError, match="degenerate.*not positive definite"):
            mixed_model(d, "y", ["x"])


# ------------------------------------------------------------ few clusters
def few_towns(n_towns: int, per_town: int = 6, seed: int = 3) -> pd.DataFrame:
    d = villages(n_towns=n_towns, per_town=per_town, seed=seed)
    return d.assign(x2=d["x2"] + 0.3 * d.groupby("town_id").cumcount())


def _design(d: pd.DataFrame, preds: list[str]):
    codes = pd.factorize(d["town_id"])[0]
    dummies = pd.get_dummies(codes, drop_first=True, dtype=float).to_numpy()
    x = np.column_stack([np.ones(len(d)), d[preds].to_numpy(), dummies])
    return d["y"].to_numpy(), x, codes


def test_wild_bootstrap_t_equals_wildboottest_full_enumeration():
    from wildboottest.wildboottest import WildboottestCL

    d = few_towns(5)
    y, x, codes = _design(d, ["x1", "x2"])
    for column in (1, 2):
        r = np.zeros(x.shape[1])
        r[column] = 1.0
        wb = WildboottestCL(X=x, Y=y, cluster=codes, R=r, B=999, seed=1)   # 2**5 < 999: full enumeration
        wb.get_scores(bootstrap_type="11", impose_null=True)
        wb.get_weights(weights_type="rademacher")
        wb.get_numer()
        wb.get_denom()
        wb.get_tboot()
        wb.get_vcov()
        wb.get_tstat()
        w, full = bootstrap_weights(5, "rademacher")
        assert full and w.shape == (32, 5)
        t, tb = wild_bootstrap_t(y, x, codes, column, w)
        assert t == pytest.approx(float(np.ravel(wb.t_stat)[0]), rel=1e-9)
        assert np.sort(tb) == pytest.approx(np.sort(np.ravel(wb.t_boot)), rel=1e-9)


def test_wild_bootstrap_p_value_equals_brute_force_refits():
    import statsmodels.api as sm

    d = few_towns(4)
    y, x, codes = _design(d, ["x1", "x2"])
    # independent recomputation: for each of the 16 sign draws, rebuild y* from the restricted fit
    # (x2 coefficient = 0) and refit with statsmodels' CR1 errors
    keep = [0, 1] + list(range(3, x.shape[1]))
    restricted = sm.OLS(y, x[:, keep]).fit()
    full = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
    t0 = full.params[2] / full.bse[2]
    tstars = []
    for signs in itertools.product([-1.0, 1.0], repeat=4):
        ystar = restricted.fittedvalues + restricted.resid * np.asarray(signs)[codes]
        f = sm.OLS(ystar, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
        tstars.append(f.params[2] / f.bse[2])
    expected = np.mean(np.abs(tstars) >= abs(t0) * (1 - 1e-7))
    w, _ = bootstrap_weights(4, "rademacher")
    t, tb = wild_bootstrap_t(y, x, codes, 2, w)
    assert t == pytest.approx(t0, rel=1e-8)
    assert np.sort(tb) == pytest.approx(np.sort(tstars), rel=1e-8)
    out = within_town_comparison(d, "y", ["x1", "x2"], weights="rademacher")
    assert out.set_index("term").loc["x2", "p_value"] == pytest.approx(expected)
    assert expected >= 2 / 16                                        # the +-1 draws always tie


@settings(max_examples=15, deadline=None)
@given(null=st.floats(-1e3, 1e3, allow_nan=False))
def test_wild_bootstrap_at_any_null_equals_brute_force_refits_under_that_null(null):
    import statsmodels.api as sm

    d = few_towns(4)
    y, x, codes = _design(d, ["x1", "x2"])
    keep = [0, 1] + list(range(3, x.shape[1]))
    # H0: b_x2 = null, imposed by hand: the restricted fit of y - null * x2, then each sign draw refitted
    restricted = sm.OLS(y - null * x[:, 2], x[:, keep]).fit()
    full = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
    tstars = []
    for signs in itertools.product([-1.0, 1.0], repeat=4):
        ystar = restricted.fittedvalues + null * x[:, 2] + restricted.resid * np.asarray(signs)[codes]
        f = sm.OLS(ystar, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
        tstars.append((f.params[2] - null) / f.bse[2])
    w, _ = bootstrap_weights(4, "rademacher")
    t, tb = wild_bootstrap_t(y, x, codes, 2, w, null=null)
    assert t == pytest.approx((full.params[2] - null) / full.bse[2], rel=1e-8)
    assert np.sort(tb) == pytest.approx(np.sort(tstars), rel=1e-7, abs=1e-9)


def test_within_town_comparison_method_follows_the_number_of_towns():
    with pytest.raises(InsufficientDataError, match="only 3 town.*descriptive only"):
        within_town_comparison(few_towns(3), "y", ["x1"])
    four = within_town_comparison(few_towns(4), "y", ["x1", "x2"])
    assert list(four.columns[:5]) == COMPARE_COLUMNS[:5] and set(COMPARE_COLUMNS) <= set(four.columns)
    assert (four["n_clusters"] == 4).all() and (four["n_villages"] == 24).all()
    assert "Webb weights, all 1296 draws" in four.loc[0, "method"]
    assert "only 4 towns" in four.loc[0, "warning"]
    assert (four["ci_low"] < four["estimate"]).all() and (four["estimate"] < four["ci_high"]).all()
    rad = within_town_comparison(few_towns(4), "y", ["x1", "x2"], weights="rademacher")
    assert np.isinf(rad["ci_low"]).all() and "cannot give a p-value below 0.125" in rad.loc[0, "warning"]
    mid = within_town_comparison(few_towns(15, per_town=4), "y", ["x1"])
    assert "Rademacher weights, 9999 random draws, seed 0" in mid.loc[0, "method"]
    big = within_town_comparison(villages(n_towns=30, per_town=4), "y", ["x1"])
    assert "CR1" in big.loc[0, "method"] and big.loc[0, "warning"] == ""
    ref = fixed_effects_ols(villages(n_towns=30, per_town=4), "y", ["x1"])
    assert big.loc[0, "p_value"] == pytest.approx(ref.loc[0, "p_value"])


def test_confidence_set_is_the_set_of_nulls_not_rejected():
    from villagestudy.stats import _p_value

    d = few_towns(5)
    out = within_town_comparison(d, "y", ["x1"]).iloc[0]
    y, x, codes = _design(d, ["x1"])
    w, _ = bootstrap_weights(5, "webb")
    for b0, rejected in ((out.ci_low - 0.01, True), (out.ci_low + 0.01, False),
                         (out.ci_high + 0.01, True), (out.ci_high - 0.01, False)):
        t, tb = wild_bootstrap_t(y, x, codes, 1, w, null=b0)
        assert (_p_value(t, tb) < 0.05) == rejected


def test_fractional_logit_recovers_coefficients():
    d = villages(n_towns=20, per_town=30, seed=2)
    out = fractional_logit(d, "share", ["x2"])
    est = out.set_index("term")["estimate"]
    assert est["x2"] == pytest.approx(0.9, abs=0.08)
    assert est["Intercept"] == pytest.approx(-0.4, abs=0.08)
    assert out.attrs["df"] is None and "HC1" in out.attrs["cov_type"]
    p = 1 / (1 + np.exp(-(est["Intercept"] + est["x2"] * d["x2"])))
    me = out.set_index("term").loc["x2", "marginal_effect"]
    assert me == pytest.approx(np.mean(p * (1 - p)) * est["x2"], rel=1e-6)
    cl = fractional_logit(d, "share", ["x2"], group="town_id")
    assert cl.attrs["df"] == 19
    assert cl["estimate"].to_numpy() == pytest.approx(out["estimate"].to_numpy())


def test_fractional_logit_refusals():
    d = villages()
    with pytest.raises(ValueError, match=r"share in \[0, 1\]"):
        fractional_logit(d.assign(share=d["share"] * 100), "share", ["x2"])
    with pytest.raises(InsufficientDataError):
        fractional_logit(d.iloc[:3], "share", ["x1", "x2"])
    with pytest.warns(FewClustersWarning):
        fractional_logit(villages(n_towns=4), "share", ["x2"], group="town_id")
    # shares of exactly 0 and 1 are allowed
    edge = d.copy()
    edge.loc[0, "share"], edge.loc[1, "share"] = 0.0, 1.0
    assert len(fractional_logit(edge, "share", ["x2"])) == 2
