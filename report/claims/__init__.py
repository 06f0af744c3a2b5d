"""Published claims tested against the study's numbers, one `Claim` object each (`report.claims.registry`).

Verdict rule (stated in the paper, symmetric). For a claim about a difference D = A − B, take D per
seed (paired: a seed fixes initialisation and batch order), its mean and 95% Student-t interval
[lo, hi], and the claim's threshold θ:

- superiority ("A beats B"): θ = 0;
- non-inferiority ("A is at least as good as B"): θ = −δ, δ the claim's stated margin;
- **reproduced** when lo > θ, **not reproduced** when hi < θ, **inconclusive** otherwise;
- equivalence ("A matches B"): reproduced when the interval lies inside (−δ, δ), not reproduced when it
  lies entirely outside, inconclusive otherwise;
- **not testable at this scale** when an input is missing (a strategy or budget absent, < 2 seeds);
  **comparator diverged** instead when the input is there but a compared strategy's runs diverged (fewer
  than two finished at a budget the claim needs; the row's detail names them).

A claim "at every budget" (or "for every method") is not reproduced as soon as one setting is not,
otherwise not testable when one setting is, reproduced when every setting is, and inconclusive otherwise
(`base.combine_every`). Each row also reports its *margin* (how far the interval
clears its threshold, in half-widths; a decided verdict is robust when the margin is ≥ 1/3) and the
*minimum detectable effect* at 80% power for this number of seeds. Choices inside a claim (UBA's φ,
which schedule is the best tuned one) are made on the validation split, never on the test split the
claim is judged on.
"""

from report.claims.base import (
    CLAIM_COLUMNS,
    COMPARATOR_DIVERGED,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Claim,
    ClaimResult,
    Study,
)
from report.claims.registry import CLAIMS, by_id, evaluate_all

__all__ = [
    "CLAIMS",
    "CLAIM_COLUMNS",
    "COMPARATOR_DIVERGED",
    "INCONCLUSIVE",
    "NOT_REPRODUCED",
    "NOT_TESTABLE",
    "REPRODUCED",
    "Claim",
    "ClaimResult",
    "Study",
    "by_id",
    "evaluate_all",
]
