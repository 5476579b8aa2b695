"""Attribute tables of synthetic villages: population, income, governance.

Figures bracket the published standards (see the catalog's references) so that every comparison
has villages on both sides: the 消薄 thresholds (100,000 yuan in total, 50,000
of operating income), 18 social workers per 10,000 residents, a part-time share
of grid posts around 1/2 (some near the observed 78.6%), about 54% of registered
party members volunteering, about 30% certified and 48% experienced social
workers, office space around the 300 m2 standard, a budget of about 200,000 yuan.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import INCOME_CATEGORIES

# economic classes of a village's collective
WEAK_TOTAL, WEAK_OPERATING, ESCAPING, MIDDLE, RICH = range(5)
WEAK_CLASSES = (WEAK_TOTAL, WEAK_OPERATING)


def population(rng: np.random.Generator, community: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(community)
    reg = np.where(community, rng.lognormal(np.log(6000), 0.5, n), rng.lognormal(np.log(2500), 0.45, n))
    reg = np.clip(np.round(reg), 400, 40_000).astype(np.int64)
    ratio = np.where(community, rng.uniform(0.9, 2.2, n), rng.uniform(0.55, 1.1, n))
    res = np.maximum(np.round(reg * ratio), 200).astype(np.int64)
    hh = np.maximum(np.round(res / rng.uniform(2.6, 3.4, n)), 60).astype(np.int64)
    return reg, res, hh


def economic_class(rng: np.random.Generator, community: np.ndarray, town_of: np.ndarray) -> np.ndarray:
    """One class per village; every town of 3+ villages has a weak village and a village that is not."""
    n = len(community)
    p_vill = [0.12, 0.12, 0.06, 0.42, 0.28]
    p_comm = [0.05, 0.05, 0.05, 0.40, 0.45]
    cls = np.where(community, rng.choice(5, size=n, p=p_comm), rng.choice(5, size=n, p=p_vill))
    for t in np.unique(town_of):
        idx = np.flatnonzero(town_of == t)
        if len(idx) >= 3 and not np.isin(cls[idx], WEAK_CLASSES).any():
            cls[idx[rng.integers(len(idx))]] = rng.choice(WEAK_CLASSES)
        if len(idx) >= 2 and np.isin(cls[idx], WEAK_CLASSES + (ESCAPING,)).all():
            cls[idx[rng.integers(len(idx))]] = MIDDLE
    return cls


def income_table(rng: np.random.Generator, village_ids: list[str], cls: np.ndarray, years: list[int],
                 park_rent: dict[int, list[tuple[int, float]]]) -> pd.DataFrame:
    """Long income table: village_id, year, category, amount (whole yuan; investment may be negative).

    ``park_rent`` maps a village index to its parks' (built_year, annual rent): rent collected by the
    collective counts as contracting income from the year after a park was built.
    """
    n, ny = len(village_ids), len(years)
    t = np.arange(ny)[None, :]
    u = lambda lo, hi: rng.uniform(lo, hi, n)[:, None]  # noqa: E731 - one draw per village
    noise = lambda: rng.uniform(0.9, 1.1, (n, ny))  # noqa: E731 - one draw per village-year
    c = cls[:, None]
    weak = np.isin(c, WEAK_CLASSES)
    # base amounts of the first year per class (yuan)
    business = np.select([weak, c == ESCAPING, c == MIDDLE], [u(0, 12e3), u(5e3, 20e3), u(50e3, 400e3)],
                         u(300e3, 3e6))
    contracting = np.select([weak, c == ESCAPING, c == MIDDLE], [u(5e3, 22e3), u(10e3, 25e3), u(100e3, 800e3)],
                            u(1e6, 8e6))
    investment = np.select([weak, c == ESCAPING, c == MIDDLE], [u(0, 5e3), u(0, 8e3), u(0, 200e3)],
                           u(0, 2e6))
    subsidy = np.select([c == WEAK_TOTAL, c == WEAK_OPERATING, c == ESCAPING, c == MIDDLE],
                        [u(15e3, 40e3), u(90e3, 260e3), u(40e3, 120e3), u(50e3, 200e3)], u(50e3, 300e3))
    other = np.select([weak, c == ESCAPING, c == MIDDLE], [u(0, 10e3), u(0, 15e3), u(10e3, 80e3)],
                      u(50e3, 500e3))
    growth = np.select([weak, c == ESCAPING], [u(0.0, 0.04), u(0.3, 0.45)], rng.normal(0.06, 0.05, n)[:, None])
    grow = (1 + np.maximum(growth, -0.08)) ** t
    business = business * grow * noise()
    contracting = contracting * grow * noise()
    investment = investment * grow * noise()
    subsidy = subsidy * (1 + np.where(weak, 0.05, 0.02)) ** t * noise()
    other = other * noise()
    for v, parks in park_rent.items():
        for built, rent in parks:
            contracting[v] += np.where(np.array(years) > built, rent * rng.uniform(0.6, 1.0), 0.0)
    # losses: some pooled projects lose money in some years
    loss = (rng.random((n, ny)) < np.where(weak, 0.05, 0.1)) & (c != ESCAPING)
    size = np.where(weak, rng.uniform(1e3, 6e3, (n, ny)), rng.uniform(20e3, 400e3, (n, ny)))
    investment = np.where(loss, -size, investment)
    if n and not loss.any():  # make sure a study shows at least one loss
        cand = np.flatnonzero(~np.isin(cls, WEAK_CLASSES + (ESCAPING,)))
        v = int(cand[0]) if len(cand) else 0
        investment[v, ny - 1] = -(3e3 if cls[v] in WEAK_CLASSES else 50e3)
    amounts = np.stack([business, contracting, investment, subsidy, other], axis=2)  # (n, years, 5)
    return pd.DataFrame({
        "village_id": np.repeat(np.array(village_ids, dtype=object), ny * 5),
        "year": np.tile(np.repeat(np.array(years, dtype=np.int64), 5), n),
        "category": np.tile(np.array(INCOME_CATEGORIES, dtype=object), n * ny),
        "amount": np.round(amounts.reshape(-1)).astype(np.int64),
    })


def governance_table(rng: np.random.Generator, village_ids: list[str], years: list[int], resident: np.ndarray,
                     registered: np.ndarray, community: np.ndarray, grid_posts: np.ndarray) -> pd.DataFrame:
    """One row per village and year of raw counts; every sub-count is at most its total."""
    n, ny = len(village_ids), len(years)
    back = (len(years) - 1 - np.arange(ny))[None, :]  # years before the last
    shape = (n, ny)
    # village-level tendencies (drawn once), yearly values around them
    sw_rate = 18.0 * rng.lognormal(0.0, 0.35, n)[:, None] * (0.97 ** back)  # per 10,000 residents
    social = np.maximum(1, np.round(sw_rate * resident[:, None] / 1e4 * rng.uniform(0.95, 1.05, shape)))
    social = social.astype(np.int64)
    p_cert = np.clip(rng.beta(6, 14, n), 0.05, 0.8)[:, None] * (0.95 ** back)
    p_exp = np.clip(rng.beta(10, 11, n), 0.1, 0.9)[:, None]
    certified = rng.binomial(social, np.clip(p_cert, 0, 1))
    experienced = rng.binomial(social, p_exp)
    cadres = np.where(rng.random(shape) < np.where(community, 0.5, 0.3)[:, None], rng.integers(1, 3, shape), 0)
    posts = np.maximum(1, grid_posts[:, None] - rng.integers(0, 2, shape) * (back > 0))
    share_pt = np.where(rng.random(n) < 0.2, rng.uniform(0.72, 0.85, n), rng.beta(8, 8, n))[:, None]
    posts_pt = rng.binomial(posts, share_pt)
    members = np.maximum(5, np.round(registered[:, None] * rng.uniform(0.03, 0.06, n)[:, None]
                                     * rng.uniform(0.98, 1.02, shape))).astype(np.int64)
    p_vol = np.clip(rng.normal(0.54, 0.12, n), 0.15, 0.95)[:, None]
    volunteering = rng.binomial(members, p_vol)
    events = rng.integers(2, 21, shape)
    p_org = np.clip(rng.beta(2, 6, n), 0.0, 1.0)[:, None]
    events_org = rng.binomial(events, p_org)
    office = np.maximum(60, np.round(rng.normal(290, 90, n) / 5) * 5)[:, None]
    office = (office - np.where((rng.random(n) < 0.2)[:, None] & (back > 1), 60, 0)).astype(np.int64)
    budget = (np.maximum(50, np.round(rng.normal(200, 50, n)))[:, None] * 1000
              * (1.03 ** -back)).round(-3).astype(np.int64)
    reported = rng.poisson(np.maximum(resident[:, None] / 300.0, 1.0) * rng.uniform(0.8, 1.2, shape))
    resolved = rng.binomial(reported, np.clip(rng.uniform(0.78, 0.99, n), 0, 1)[:, None])
    cols = {
        "social_workers": social, "social_workers_certified": certified,
        "social_workers_experienced": experienced, "former_cadres_on_staff": cadres, "grid_posts": posts,
        "grid_posts_part_time": posts_pt, "party_members_registered": members,
        "party_members_volunteering": volunteering, "volunteer_events": events,
        "volunteer_events_with_social_orgs": events_org, "office_area_m2": np.broadcast_to(office, shape),
        "budget_yuan": np.broadcast_to(budget, shape), "disputes_reported": reported,
        "disputes_resolved": resolved,
    }
    frame = pd.DataFrame({"village_id": np.repeat(np.array(village_ids, dtype=object), ny),
                          "year": np.tile(np.array(years, dtype=np.int64), n)})
    for name, values in cols.items():
        frame[name] = np.asarray(values, dtype=np.int64).reshape(-1)
    return frame
