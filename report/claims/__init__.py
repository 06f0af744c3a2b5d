"""Published claims tested against the study's numbers, one `Claim` object each (`report.claims.registry`).

Verdict rule (stated in the paper, symmetric). For a claim about a difference D = A − B, take D per
seed (paired: a seed fixes initialisation and batch order), its mean and 95% Student-t interval
[lo, hi], and the claim's threshold θ; the test follows the source's wording (`Claim.test_type`):

- superiority ("A beats / surpasses / improves on B"): θ = 0;
- non-inferiority ("A is at least as good as / matches or exceeds B"): θ = −δ, δ the margin stated in the
  profile before any run;
- **reproduced** when lo > θ, **not reproduced** when hi < θ, **inconclusive** otherwise;
- equivalence ("A matches B"), three outcomes: reproduced when the interval lies inside (−δ, δ),
  **exceeded** when it lies above +δ (A is better than the claim says: information, not a failure), not
  reproduced below −δ, inconclusive otherwise;
- **not testable at this scale** when an input is missing (a strategy or budget absent, < 2 seeds);
  **comparator diverged** instead when the input is there but a compared strategy's runs diverged or
  never left chance level (fewer than two learned at a budget the claim needs; the row's detail names
  them).

**Family-wise correction.** Every row that decides an empirical claim is one test of the study's family;
Holm's step-down procedure at α = 5 % over the whole family (`registry.correct_family`) decides which rows
stay decided: a row keeps its raw interval and verdict (``raw_verdict``) and is judged on its interval at
its Holm level. Deterministic comparisons of single runs (HDM's gradient calls) and exact checks of a
formula are not tests and stay outside the family; they are never called robust.

A claim "at every budget" (or "for every method") is not reproduced as soon as one setting is not,
otherwise not testable when one setting is, reproduced (or exceeded) when every setting is, and
inconclusive otherwise (`base.combine_every`). Each row also reports its *margin* (how far the corrected
interval clears its threshold, in its half-widths; a decided verdict is robust when the margin is ≥ 1/3)
and the *minimum detectable effect* at 80% power for this number of seeds. Choices inside a claim (which
schedule is the best tuned one) are made on the validation split, never on the test split the claim is
judged on.
"""

from report.claims.base import (
    CLAIM_COLUMNS,
    COMPARATOR_DIVERGED,
    EXCEEDED,
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
    "EXCEEDED",
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
