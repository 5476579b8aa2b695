"""The methods statement of the village index and the comparisons, in Chinese and English.

One place for the text that reports (methods appendix) and the consultation
app (methods view) show: which indicators the index scores and why, how
missing values and structural zeros are treated, how a rank is explained, how
villages are compared across few towns, and how spatial clusters are tested.
The numbers it quotes (thresholds) come from the modules that apply them.

Example
-------
>>> [title for title, _ in methods_text("en")][:2]
['Index structure: one indicator per dimension', 'Land indicators that do not reward break-up or size']
"""
from __future__ import annotations

from ..stats import MIN_GROUPS_MIXED, MIN_TOWNS, WEBB_BELOW, WILD_BELOW
from .diagnostics import REDUNDANCY_THRESHOLD

__all__ = ["methods_text", "SECTIONS"]

SECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "structure": {
        "zh": ("指数结构：每个维度一个指标",
               "综合指数按土地、集体收入、基层治理三个分项等权汇总，每个分项内每个维度只计一个指标，"
               "避免同一维度被重复计权（OECD/JRC《综合指标构建手册》，2008）。土地分项："
               "承包地细碎程度用辛普森指数（Simpson 1949；Blarel 等 1992），户均地块数与雅努谢夫斯基指数"
               "衡量的是同一维度，仅作展示、不计分；地块规模用平均地块面积；连片程度用有效网格比"
               "（Jaeger 2000）；权属分散用同权属连片网格比；村级工业园用亩均税收。"
               "集体收入分项：“造血”能力用人均经营性收入（人均总收入与其高度相关，不再重复计分），"
               "另计补助收入占比、收入集中度与增长率。基层治理分项的九个指标各自反映不同方面。"
               f"两两秩相关系数绝对值超过 {REDUNDANCY_THRESHOLD} 的指标对视为重复，见下表；"
               "各分项的克朗巴赫 α 与各指标和分项得分的相关系数亦列于下表。分项有意组合不同维度，"
               "α 偏低并非缺陷，而说明各指标并不重复。"),
        "en": ("Index structure: one indicator per dimension",
               "The composite index averages three pillars with equal weights (land, collective income, "
               "governance); within a pillar each dimension is scored by one indicator, so that no dimension "
               "is weighted several times (OECD/JRC Handbook on Constructing Composite Indicators, 2008). "
               "Land: fragmentation of holdings by the Simpson index (Simpson 1949; Blarel et al. 1992) - "
               "parcels per household and the Januszewski index measure the same dimension and are shown, not "
               "scored; parcel size by the mean parcel area; contiguity by the effective mesh ratio (Jaeger "
               "2000); scattered ownership by the single-owner mesh ratio; village industrial parks by tax per "
               "mu. Income: the capacity to earn (造血) by operating income per resident (income per resident "
               "moves with it and is not scored again), with the subsidy share, income concentration and "
               "growth. Governance: nine indicators of distinct aspects. Pairs of indicators whose rank "
               f"correlation exceeds {REDUNDANCY_THRESHOLD} in absolute value are listed as redundant below, "
               "with Cronbach's alpha of each pillar and each indicator's correlation with its pillar. The "
               "pillars deliberately combine distinct dimensions: a low alpha says the indicators do not "
               "repeat each other, not that the pillar is faulty."),
    },
    "land": {
        "zh": ("不奖励破碎、不度量村庄规模的土地指标",
               "有效网格尺寸（亩）以本村耕地面积为上限，村越大越高，实际衡量的是规模；指数采用其与耕地面积之比，"
               "即有效网格比 Σ B_j² ÷ (Σ B_j)²（B_j 为连片区面积），等于在本村耕地上任取两点同属一个连片区的概率，"
               "与规模无关。原“连片区平均权属经济社数”在连片区被拆开时反而变小（看似改善），故只作描述；"
               "指数改用同权属连片网格比 Σ P_jo² ÷ (Σ P_jo)²（P_jo 为第 j 个连片区中属于经济社 o 的面积）。"
               "经性质检验：拆分地块、把相邻地块拉开、把连片区的一部分划归新的经济社，都不会使任何计分的土地指标"
               "或土地分项得分变好。注意辛普森指数按承包户计算：把地块分给新的承包户会降低每户的细碎程度，"
               "这不属于更破碎。"),
        "en": ("Land indicators that do not reward break-up or size",
               "The effective mesh size in mu is capped by the village's farmland and grows with it, so it "
               "measures size. The index scores the effective mesh ratio sum(B_j^2) / (sum B_j)^2 over the "
               "block areas B_j instead: the probability that two random points of the village's farmland lie "
               "in the same contiguous block, independent of size. Owners per block fell when a block was "
               "split (an apparent improvement) and is now descriptive only; the index scores the single-owner "
               "mesh ratio sum(P_jo^2) / (sum P_jo)^2, P_jo the area of block j held by economic society o. A "
               "property test checks that splitting a parcel, pulling neighbouring parcels apart, or giving "
               "part of a block to another economic society never improves a scored land indicator or the land "
               "score. The Simpson index is per contracting household: handing a parcel to a new household "
               "lowers each household's fragmentation and is not counted as more fragmentation."),
    },
    "missing": {
        "zh": ("缺失值与结构性零值",
               "每个指标只在有数值的村（社区）之间标准化：最小-最大法与百分位秩都落在同一 0–100 区间，"
               "不受覆盖村数影响（不确定性分析用百分位秩，不用原始名次，以免只有部分村有值的指标量纲不同）。"
               "没有村级工业园的村，工业园指标视为“不适用”（缺失），而不是零：既不因没有园区得分，也不因此被扣分，"
               "其土地分项按该村拥有的其他土地指标平均（权重在现有指标间重新分配）。"),
        "en": ("Missing values and structural zeros",
               "Each indicator is normalised over the villages that have a value: min-max and percentile ranks "
               "put every indicator on the same 0-100 range whatever its coverage (the uncertainty analysis "
               "uses percentile ranks, not raw ranks, which would run 1..26 for an indicator that 26 villages "
               "have and 1..47 for the others). A village without industrial parks has its park indicators "
               "'not applicable' (missing), not zero: it is neither rewarded nor penalised for parks it does "
               "not have, and its land pillar is the mean of the land indicators it has (weights re-shared "
               "among them)."),
    },
    "contributions": {
        "zh": ("名次由何而来",
               "算术平均下，一个村的综合得分正好等于各指标标准化值乘以其有效权重之和。以本镇（街道）得分居中的村"
               "（偶数个村时取中间两村的平均）为参照，各指标的贡献等于本村与参照村“权重×标准化值”之差，"
               "全部贡献相加正好等于本村得分与本镇中位得分之差；分项贡献为其指标贡献之和。"
               "几何平均下同样的分解在对数尺度上成立（贡献以对数点表示）。"),
        "en": ("Why this rank",
               "With the arithmetic mean, a village's score is exactly the sum of its normalised indicators "
               "times their effective weights. Against the median-scoring village of its town (the mean of the "
               "two middle villages when their number is even), an indicator's contribution is the difference "
               "of weight x normalised value between the village and that reference; the contributions add up "
               "exactly to the village's score minus the town's median score, and a pillar's contribution is "
               "the sum of its indicators'. With the geometric mean the same decomposition holds on the log "
               "scale (contributions in log points)."),
    },
    "inference": {
        "zh": ("镇数较少时的统计推断",
               "村（社区）间的比较在镇（街道）内部进行（镇固定效应），误差按镇聚类。聚类数少于 "
               f"{WILD_BELOW} 个时常规聚类标准误偏小，改用限制性野聚类自助法（Cameron、Gelbach 与 Miller 2008；"
               f"Roodman 等 2019），少于 {WEBB_BELOW} 个镇时用 Webb 六点权重（可穷举时穷举全部抽样），"
               "p 值与置信集（检验反演所得，可能无界）均来自自助法；"
               f"少于 {MIN_TOWNS} 个镇时不作推断，仅作描述。随机截距混合模型至少需要 {MIN_GROUPS_MIXED} 个镇，"
               "设计矩阵奇异或拟合退化时拒绝报告。每张表都注明方法、村数、镇数和警示。"),
        "en": ("Inference with few towns",
               "Villages are compared within their towns (town fixed effects) with errors clustered by town. "
               f"With fewer than {WILD_BELOW} clusters conventional clustered standard errors are too small, so "
               "p-values and confidence sets (by test inversion, possibly unbounded) come from the restricted "
               "wild cluster bootstrap (Cameron, Gelbach & Miller 2008; Roodman et al. 2019), with Webb's "
               f"six-point weights below {WEBB_BELOW} towns (every draw enumerated when feasible). Below "
               f"{MIN_TOWNS} towns there is no inference: the comparison is descriptive only. The random-"
               f"intercept model needs at least {MIN_GROUPS_MIXED} towns and refuses a singular design or a "
               "degenerate fit. Every table states its method, the numbers of villages and towns, and its "
               "warnings."),
    },
    "spatial": {
        "zh": ("空间集聚",
               "以村界相邻（共点即相邻，Queen 邻接）构造行标准化空间权重，计算全局 Moran's I（Moran 1950）"
               "与局部空间自相关 LISA（Anselin 1995），p 值来自条件置换（固定随机种子，可复现）。"
               "高-高（HH）为高值村被高值村包围，低-低（LL）为低值集聚，HL、LH 为空间异常，ns 为不显著。"
               "未作多重检验校正：村数较多时，少数显著的集聚可能纯属偶然。无值或无相邻村的村不参与计算。"),
        "en": ("Spatial clustering",
               "Villages whose boundaries touch (Queen contiguity) are neighbours; with row-standardised weights "
               "the report computes global Moran's I (Moran 1950) and local indicators of spatial association, "
               "LISA (Anselin 1995), with conditional-permutation p-values (a fixed random number stream: reproducible). HH: a high "
               "value among high neighbours, LL: low among low, HL and LH: spatial outliers, ns: not "
               "significant. There is no correction for multiple tests: with many villages a few significant "
               "clusters arise by chance. Villages without a value or without a neighbour are left out."),
    },
}


def methods_text(lang: str = "zh") -> list[tuple[str, str]]:
    """``(title, paragraph)`` of every methods section, in ``lang`` (``"zh"`` or ``"en"``)."""
    key = "en" if lang == "en" else "zh"
    return [section[key] for section in SECTIONS.values()]
