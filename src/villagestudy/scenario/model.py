"""The :class:`Scenario`: every choice a comparison of villages depends on, in one value.

A scenario is what a consultation meeting changes (weights, standards, methods)
and what a report, the app and ``villagestudy rank`` are all computed from, so
that the same scenario gives the same answer in every view. It is written to and
read from a small versioned JSON file that carries the data fingerprint it was
made on.
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .. import catalog
from .._version import __version__
from ..errors import UsageError
from ..index import AGGREGATION_METHODS, IMPUTATION_METHODS
from ..ranking import DEFAULT_UNCERTAINTY
from ..settings import STANDARDS
from .._atomic import atomic_path

__all__ = ["Scenario", "ScenarioError", "ScenarioWarning", "SCENARIO_VERSION", "SCOPES", "PILLARS",
           "NORMALISATIONS", "AGGREGATIONS", "IMPUTATIONS", "DEFAULT_RUNS"]

SCENARIO_VERSION = 1
SCOPES = ("study", "town")
PILLARS = catalog.PILLARS
#: goalposts need per-indicator bounds a scenario does not carry
NORMALISATIONS = ("minmax", "zscore", "rank", "prank")
AGGREGATIONS = tuple(AGGREGATION_METHODS)
IMPUTATIONS = tuple(IMPUTATION_METHODS)
DEFAULT_RUNS = DEFAULT_UNCERTAINTY["n"]
#: keys of the saved file beside the scenario itself (who saved it, when, why)
RECORD_KEYS = ("version", "scenario", "data_fingerprint", "package_version", "saved", "note", "town_name",
               "study_name", "table")


class ScenarioError(UsageError):
    """A scenario that cannot be evaluated; ``problems`` lists every bad key (exit 2 on the command line)."""

    def __init__(self, problems: list[str], source: str = "scenario"):
        self.problems = list(problems)
        self.source = source
        n = len(self.problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''}:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


class ScenarioWarning(UserWarning):
    """A scenario made on other data than the study it is evaluated on."""


def _allowed(values) -> str:
    return ", ".join(str(v) for v in values)


def index_weight_keys() -> tuple[str, ...]:
    """Keys a weight may have: the pillars and the catalog indicators that enter the index."""
    return (*PILLARS, *(i for i in catalog.ids() if catalog.get(i).in_index and catalog.get(i).direction != 0))


@dataclass(frozen=True)
class Scenario:
    """Every choice a comparison depends on.

    Parameters
    ----------
    study : str, optional
        The study folder it was made for (informative; the study itself is
        passed to :func:`villagestudy.evaluate`).
    fingerprint : str, optional
        :attr:`villagestudy.Study.fingerprint` of the data it was made on; a
        different fingerprint at evaluation is a visible warning.
    year : int, optional
        Year of income and governance indicators; None for the study's year.
    scope : {"study", "town"}
        The villages normalisation and ranking run over: the whole study
        (default: scores comparable between towns, and the same in every view)
        or only ``town``.
    town : str, optional
        The town being looked at (required for ``scope="town"``).
    weights : dict
        Pillar (``land``, ``income``, ``governance``) and/or indicator weights,
        relative among siblings; missing keys weigh 1.
    standards : dict
        Overrides of standards (settings keys such as ``weak_total_yuan``);
        ``office_area_standard_m2`` may be None (no standard).
    normalise, aggregate, impute : str, optional
        Index methods; None for the study's ``[index]`` choice or the default
        (min-max, arithmetic mean, no imputation).
    winsorise : bool, optional
        COINr winsorisation of outliers; None for the study's choice (default on).
    runs, seed : int, optional
        Monte Carlo runs behind the rank intervals (0 for none) and their seed;
        None for the study's choice or 500 runs, seed 0.

    Examples
    --------
    >>> s = Scenario(weights={"governance": 5})
    >>> Scenario.from_json(s.to_json()) == s
    True
    >>> s.replace(scope="town", town="t1").scope
    'town'
    """

    study: str | None = None
    fingerprint: str | None = None
    year: int | None = None
    scope: str = "study"
    town: str | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    standards: Mapping[str, float | None] = field(default_factory=dict)
    normalise: str | None = None
    aggregate: str | None = None
    impute: str | None = None
    winsorise: bool | None = None
    runs: int | None = None
    seed: int | None = None

    def __post_init__(self):
        # copies: a caller's dict changed later must not change a frozen scenario
        object.__setattr__(self, "weights", dict(self.weights or {}))
        object.__setattr__(self, "standards", dict(self.standards or {}))
        if self.town is not None:
            object.__setattr__(self, "town", str(self.town))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    # ------------------------------------------------------------ building
    def replace(self, **changes: Any) -> "Scenario":
        """A copy with some choices changed (unknown names are an error naming the allowed ones)."""
        unknown = sorted(set(changes) - set(self.fields()))
        if unknown:
            raise ScenarioError([f"unknown key '{k}'; allowed: {_allowed(self.fields())}" for k in unknown])
        return dataclasses.replace(self, **changes)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def default(cls, study, **changes: Any) -> "Scenario":
        """The study's own choices (``study.toml``), resolved, with ``changes`` on top."""
        return cls(study=str(study.path) if getattr(study, "path", None) else None, **changes).resolved(study)

    def resolved(self, study) -> "Scenario":
        """Every choice made explicit: the study's ``[index]`` settings and the package defaults filled in.

        The standards become the whole set in force; weights keep only what
        differs from equal weights of 1.
        """
        s = study.settings
        options = dict(s.index_options or {})
        mc = dict(options.get("uncertainty") or {})
        weights = {**options.get("weights", {}), **(s.weights or {}), **self.weights}
        standards = {**s.standards(), **self.standards}
        return dataclasses.replace(
            self,
            fingerprint=self.fingerprint or study.fingerprint,
            year=int(self.year) if self.year is not None else study.default_year,
            weights={k: float(v) for k, v in weights.items()},
            standards={k: (None if v is None else float(v)) for k, v in standards.items()},
            normalise=self.normalise or options.get("normalise", "minmax"),
            aggregate=self.aggregate or options.get("aggregate", "arithmetic"),
            impute=self.impute or options.get("impute", "none"),
            winsorise=bool(options.get("winsorise", True)) if self.winsorise is None else bool(self.winsorise),
            runs=int(mc.get("n", DEFAULT_RUNS)) if self.runs is None else int(self.runs),
            seed=int(mc.get("seed", 0)) if self.seed is None else int(self.seed),
        )

    # ---------------------------------------------------------- checking
    def problems(self, study=None) -> list[str]:
        """Every problem of this scenario, one line each naming the key and the allowed values."""
        out: list[str] = []
        if self.scope not in SCOPES:
            out.append(f"scope: unknown scope '{self.scope}'; allowed: {_allowed(SCOPES)}")
        if self.scope == "town" and self.town is None:
            out.append("town: scope 'town' needs a town id")
        keys = index_weight_keys()
        for k, v in self.weights.items():
            if k not in keys:
                out.append(f"weights.{k}: unknown pillar or indicator '{k}'; allowed: {_allowed(keys)}")
            elif not _is_number(v):
                out.append(f"weights.{k}: weight must be a number, not {v!r}")
            elif float(v) < 0:
                out.append(f"weights.{k}: negative weight {v}; weights must be 0 or more")
        pillar_w = [float(self.weights.get(p, 1.0)) for p in PILLARS if _is_number(self.weights.get(p, 1.0))]
        if pillar_w and all(w == 0 for w in pillar_w):
            out.append(f"weights: all pillar weights are zero ({_allowed(PILLARS)}); at least one must be positive")
        for k, v in self.standards.items():
            if k not in STANDARDS:
                out.append(f"standards.{k}: unknown standard '{k}'; allowed: {_allowed(STANDARDS)}")
            elif v is None and k != "office_area_standard_m2":
                out.append(f"standards.{k}: a threshold is needed (only office_area_standard_m2 may be null)")
            elif v is not None and (not _is_number(v) or float(v) < 0):
                out.append(f"standards.{k}: threshold must be a number of 0 or more, not {v!r}")
            elif v is not None and STANDARDS[k].unit == "share" and float(v) > 1:
                out.append(f"standards.{k}: a share between 0 and 1, not {v!r}")
        for key, allowed in (("normalise", NORMALISATIONS), ("aggregate", AGGREGATIONS), ("impute", IMPUTATIONS)):
            value = getattr(self, key)
            if value is not None and value not in allowed:
                out.append(f"{key}: unknown method '{value}'; allowed: {_allowed(allowed)}")
        for key in ("runs", "seed"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                out.append(f"{key}: a whole number of 0 or more, not {value!r}")
        if self.winsorise is not None and not isinstance(self.winsorise, bool):
            out.append(f"winsorise: true or false, not {self.winsorise!r}")
        if self.year is not None and (not isinstance(self.year, int) or isinstance(self.year, bool)):
            out.append(f"year: a year such as 2023, not {self.year!r}")
        elif study is not None:
            years = list(study.years)
            # without income or governance tables no indicator depends on the year
            if self.year is not None and years and self.year not in years:
                out.append(f"year: no data for year {self.year}; allowed: {_allowed(years)}")
            towns = study.town_ids()
            if self.town is not None and self.town not in towns:
                out.append(f"town: unknown town '{self.town}'; allowed: {_allowed(towns)}")
        return out

    def validate(self, study=None) -> "Scenario":
        """Raise :class:`ScenarioError` listing every problem; warn when made on other data. Returns self."""
        problems = self.problems(study)
        if problems:
            raise ScenarioError(problems)
        mismatch = self.fingerprint_mismatch(study)
        if mismatch:
            warnings.warn(mismatch, ScenarioWarning, stacklevel=2)
        return self

    def fingerprint_mismatch(self, study) -> str | None:
        """A sentence when this scenario was made on other data than ``study``, else None."""
        if study is None or not self.fingerprint or self.fingerprint == study.fingerprint:
            return None
        return (f"this scenario was made on data with fingerprint {self.fingerprint}, the study now has "
                f"{study.fingerprint}: the data changed since, results may differ from those seen then")

    # ----------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """The scenario as plain JSON-ready values."""
        return {
            "study": self.study, "fingerprint": self.fingerprint, "year": self.year, "scope": self.scope,
            "town": self.town, "weights": {str(k): float(v) for k, v in self.weights.items()},
            "standards": {str(k): (None if v is None else float(v)) for k, v in self.standards.items()},
            "normalise": self.normalise, "aggregate": self.aggregate, "impute": self.impute,
            "winsorise": self.winsorise, "runs": self.runs, "seed": self.seed,
        }

    def record(self, **meta: Any) -> dict:
        """The saved-file record: version, scenario, data fingerprint, package version and ``meta``
        (``saved``, ``note``, ``town_name``, ``study_name``, ``table``)."""
        unknown = sorted(set(meta) - set(RECORD_KEYS))
        if unknown:
            raise ScenarioError([f"unknown key '{k}'; allowed: {_allowed(RECORD_KEYS)}" for k in unknown])
        return {"version": SCENARIO_VERSION, "scenario": self.to_dict(), "data_fingerprint": self.fingerprint,
                "package_version": __version__, **meta}

    def to_json(self, path: str | Path | None = None, **meta: Any) -> str:
        """The versioned JSON record (see :meth:`record`); written atomically to ``path`` when given."""
        text = json.dumps(self.record(**meta), ensure_ascii=False, indent=2) + "\n"
        if path is not None:
            with atomic_path(Path(path)) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "scenario") -> "Scenario":
        """A scenario from its dict, a saved record, or the older ``{"parameters": ...}`` file of the app.

        Unknown keys, and values of the wrong kind, are one :class:`ScenarioError` listing them all.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError([f"expected a JSON object, not {type(data).__name__}"], source)
        data = dict(data)
        if "scenario" in data or "version" in data:
            problems = [f"unknown key '{k}'; allowed: {_allowed(RECORD_KEYS)}" for k in data if k not in RECORD_KEYS]
            version = data.get("version")
            if version != SCENARIO_VERSION:
                problems.append(f"version: unknown scenario version {version!r}; allowed: {SCENARIO_VERSION}")
            if not isinstance(data.get("scenario"), Mapping):
                problems.append("scenario: missing or not an object")
            if problems:
                raise ScenarioError(problems, source)
            body = dict(data["scenario"])
            if body.get("fingerprint") is None and data.get("data_fingerprint"):
                body["fingerprint"] = data["data_fingerprint"]
        elif "parameters" in data:  # the app's files before scenarios were versioned
            params = data.get("parameters")
            if not isinstance(params, Mapping):
                raise ScenarioError(["parameters: not an object"], source)
            body = {**dict(params), "year": data.get("year"), "town": data.get("town_id"),
                    "fingerprint": data.get("data_fingerprint"), "study": data.get("study_path")}
            mc = data.get("uncertainty") or {}
            if isinstance(mc, Mapping):
                body.update({k2: mc[k1] for k1, k2 in (("n", "runs"), ("seed", "seed")) if k1 in mc})
        else:
            body = data
        fields = cls.fields()
        problems = [f"unknown key '{k}'; allowed: {_allowed(fields)}" for k in body if k not in fields]
        for key in ("weights", "standards"):
            if body.get(key) is not None and not isinstance(body.get(key), Mapping):
                problems.append(f"{key}: expected an object such as {{\"governance\": 2}}, not {body[key]!r}")
        known = {k: v for k, v in body.items() if k in fields
                 and not (k in ("weights", "standards") and not isinstance(v, Mapping))}
        scenario = cls(**known)
        problems += scenario.problems()
        if problems:
            raise ScenarioError(problems, source)
        return scenario

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Scenario":
        """Read a scenario from JSON text or a ``.json`` file (see :meth:`from_dict`)."""
        source = "scenario"
        text = text_or_path
        if isinstance(text_or_path, Path) or (isinstance(text_or_path, str)
                                              and not text_or_path.lstrip().startswith("{")):
            source = str(text_or_path)
            try:
                text = Path(text_or_path).read_text(encoding="utf-8-sig")
            except OSError as e:
                raise ScenarioError([f"cannot read the file: {e.strerror or e}"], source) from None
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ScenarioError([f"not valid JSON: {e}"], source) from None
        return cls.from_dict(data, source)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
