"""Tests of villagestudy.stats on synthetic data with known coefficients."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from villagestudy.stats import (COLUMNS, FewClustersWarning, InsufficientDataError, fixed_effects_ols,
                                fractional_logit, mixed_model)


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
    d = villages(n_towns=2)
    with pytest.raises(InsufficientDataError, match="at least 3 groups"):
        mixed_model(d, "y", ["x1"])
    one_each = villages(n_towns=10, per_town=1)
    with pytest.raises(InsufficientDataError, match="single unit"):
        mixed_model(one_each, "y", ["x1"])
    tiny = villages(n_towns=3, per_town=2).iloc[:5]
    with pytest.raises(InsufficientDataError, match="complete rows"):
        mixed_model(tiny, "y", ["x1", "x2"])


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
