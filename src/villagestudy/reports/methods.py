"""The composite index's method as readable sentences and tables (the appendix), not JSON.

Reads the ``steps`` record of :func:`villagestudy.index.build_index` and says
each step in the report's language.
"""
from __future__ import annotations

import pandas as pd

from .. import catalog
from ..i18n import t


def _name(i: str, lang: str) -> str:
    return catalog.name(i, lang) if i in catalog.PILLAR_LABELS or i in catalog.ids() else i


def _method(value, lang: str) -> str:
    return t(f"method_{value}", lang, default=str(value))


def method_sentences(steps: dict, lang: str = "zh") -> list[str]:
    """One sentence per step of the index (structure, missing values, outliers, normalisation,
    aggregation, ranking, uncertainty), then the method's reference."""
    sep, alt = t("list_sep", lang), t("or_sep", lang)
    none = t("prov_none", lang)
    out = []
    st = steps.get("structure")
    if st:
        out.append(t("step_structure", lang, indicators=st.get("indicators"), aggregates=st.get("aggregates"),
                     levels=st.get("levels")))
    imp = steps.get("imputation")
    if imp:
        out.append(t("step_imputation", lang, method=_method(imp.get("method", "none"), lang),
                     n=imp.get("n_imputed", 0)))
    tr = steps.get("treatment")
    if tr and tr.get("winsorise"):
        treated = [_name(i, lang) for i in (tr.get("winsorised") or {})] + \
                  [_name(i, lang) for i in (tr.get("log_transformed") or [])]
        out.append(t("step_treatment", lang, skew=tr.get("skew_threshold"), kurt=tr.get("kurtosis_threshold"),
                     winmax=tr.get("winmax"), treated=sep.join(treated) or none))
    norm = steps.get("normalisation")
    if norm:
        const = norm.get("constant_indicators") or []
        constant = t("step_constant", lang, names=sep.join(_name(i, lang) for i in const)) if const else ""
        out.append(t("step_normalisation", lang, method=_method(norm.get("method"), lang), constant=constant).strip())
    agg = steps.get("aggregation")
    if agg:
        out.append(t("step_aggregation", lang, method=_method(agg.get("method"), lang)))
    if steps.get("ranking"):
        out.append(t("step_ranking", lang))
    unc = steps.get("uncertainty")
    if unc and unc.get("n"):
        out.append(t("step_uncertainty", lang, n=unc.get("n"), range=round(100 * float(unc.get("weight_range", 0))),
                     normalise=alt.join(_method(m, lang) for m in unc.get("normalise", [])),
                     aggregate=alt.join(_method(m, lang) for m in unc.get("aggregate", []))))
    out.append(t("step_method_ref", lang))
    return out


def weights_frame(steps: dict, lang: str = "zh") -> pd.DataFrame | None:
    """Indicator weights as a table (index: indicator name; columns ``pillar``, ``weight``)."""
    weights = (steps.get("weighting") or {}).get("weights")
    if not weights:
        return None
    rows = {}
    for i, w in weights.items():
        pillar = catalog.get(i).pillar if i in catalog.ids() else "score" if i in catalog.PILLARS else ""
        rows[_name(i, lang)] = {"pillar": _name(pillar, lang) if pillar else "", "weight": float(w)}
    return pd.DataFrame.from_dict(rows, orient="index")
