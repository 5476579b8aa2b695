"""Fictional Chinese place names and statistical-code-like ids, deterministic for a generator.

Names are built from syllable lists (two characters, then three when a study
needs more than the two-character pool holds) and are unique within a study.
"""
from __future__ import annotations

import numpy as np

FIRST = list("青白黄金银红丹碧龙凤鹤鹿桂梅竹松柏柳杏桃荷兰枫樟榕东西南北中上下前后大小高平长永安和福宝云霞"
             "星月石山岭岗坪沙泉溪江湖塘湾洲新富兴隆瑞祥丰乐仁义")
SECOND = list("湖石塘坑岭坪岗田溪洲头口桥庄园岸浦湾围冲埔圩坝坊寨堡滩源涌岩林峰畈垌美明")
MIDDLE = list("家马陈李何林罗梁谢吴")


def _pool_two() -> list[str]:
    return [a + b for a in FIRST for b in SECOND if a != b]


def _pool_three() -> list[str]:
    return [a + m + b for a in FIRST for m in MIDDLE for b in SECOND if a != b and a != m]


#: town codes available below one county (the 3 town digits of a code, 100-998)
TOWNS_PER_COUNTY = 899


def name_capacity() -> int:
    """How many distinct fictional names :func:`draw_names` can give."""
    return len(_pool_two()) + len(_pool_three())


def draw_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct fictional base names (without 村/镇 suffixes), deterministic for ``rng``."""
    two = _pool_two()
    order = rng.permutation(len(two))
    names = [two[i] for i in order[:n]]
    if n > len(two):
        three = _pool_three()
        if n > len(two) + len(three):
            raise ValueError(f"cannot name {n} places: at most {len(two) + len(three)} fictional names")
        order3 = rng.permutation(len(three))
        names += [three[i] for i in order3[: n - len(two)]]
    return names


def county_code(rng: np.random.Generator) -> str:
    """A 6-digit county code with a leading zero (ids must keep their leading zeros)."""
    return f"0{int(rng.integers(41000, 46000)):05d}"


def counties_for(towns: int) -> int:
    """How many counties hold ``towns`` towns: one up to :data:`TOWNS_PER_COUNTY`, then as few as fit.

    Examples
    --------
    >>> counties_for(20), counties_for(899), counties_for(900), counties_for(1300)
    (1, 1, 2, 2)
    """
    return -(-towns // TOWNS_PER_COUNTY)


def county_codes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 6-digit county codes of one city (ascending); for one county, :func:`county_code`."""
    first = county_code(rng)
    if n == 1:
        return [first]
    if n > 99:
        raise ValueError(f"at most 99 counties in a city; asked for {n}")
    picks = np.sort(rng.choice(np.arange(1, 100), size=n, replace=False))
    return [f"{first[:4]}{int(p):02d}" for p in picks]


def town_codes(rng: np.random.Generator, county: str, n: int) -> list[str]:
    """``n`` distinct 9-digit town codes below ``county`` (ascending)."""
    if n > TOWNS_PER_COUNTY:
        raise ValueError(f"at most {TOWNS_PER_COUNTY} towns per county; asked for {n}")
    picks = np.sort(rng.choice(np.arange(100, 999), size=n, replace=False))
    return [f"{county}{int(p):03d}" for p in picks]


def village_codes(rng: np.random.Generator, town: str, is_community: np.ndarray) -> list[str]:
    """12-digit village codes below ``town``: communities 001-199 (居委会), villages 200-999 (村委会)."""
    n_comm = int(is_community.sum())
    n_vill = len(is_community) - n_comm
    if n_comm > 199 or n_vill > 799:
        raise ValueError(f"at most 199 communities and 799 villages per town; asked for {n_comm} and {n_vill}")
    comm = np.sort(rng.choice(np.arange(1, 200), size=n_comm, replace=False))
    vill = np.sort(rng.choice(np.arange(200, 999), size=n_vill, replace=False))
    out, ic, iv = [], 0, 0
    for c in is_community:
        if c:
            out.append(f"{town}{int(comm[ic]):03d}")
            ic += 1
        else:
            out.append(f"{town}{int(vill[iv]):03d}")
            iv += 1
    return out
