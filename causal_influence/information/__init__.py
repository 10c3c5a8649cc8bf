r"""Information measures from discrete samples, with bias corrections and significance.

Inputs are integer labels (actions, symbols, states), one sample per position. Results are in
nats unless ``base`` is given (``base=2`` for bits). Definitions, estimators and their bias:
``docs/metrics.md``, section "Information estimators".

Estimators (the registry :data:`ESTIMATORS`, which the command line reads):

- ``"plugin"``: maximum-likelihood (plug-in) estimate from the contingency table. Biased
  upward for MI: about :math:`(k_x-1)(k_y-1)/(2N)` nats under independence.
- ``"miller_madow"``: each entropy gets :math:`+(\hat k - 1)/(2N)`, :math:`\hat k` = number of
  non-empty bins; for MI this adds :math:`(k_x + k_y - k_{xy} - 1)/(2N)`.
- ``"shuffle"``: plug-in minus the exact mean of the plug-in MI under random pairings (the
  hypergeometric permutation null with fixed margins, as used by adjusted MI); for conditional
  MI the null permutes within each stratum of the condition.

Significance: :func:`permutation_test` draws permutation-null contingency tables directly from
their hypergeometric distribution (sequential conditional draws), which is exactly the
distribution of the table of a randomly permuted pairing, at a cost independent of the number
of samples; :func:`permutation_test_counts` does the same from a contingency table.
:func:`bootstrap_ci` resamples whole episodes when given ``groups``.

The package holds :mod:`~causal_influence.information.tables` (labels and contingency tables),
:mod:`~causal_influence.information.estimators` (the registry and the estimates from counts),
:mod:`~causal_influence.information.measures` (entropy, MI, conditional MI and normalised
forms), :mod:`~causal_influence.information.significance` (G-test, permutation tests) and
:mod:`~causal_influence.information.bootstrap`.

Examples
--------
>>> from causal_influence.information import mutual_information
>>> x = [0, 0, 0, 0, 1, 1, 1, 1]
>>> y = [0, 0, 0, 1, 0, 1, 1, 1]
>>> round(float(mutual_information(x, y)), 6)
0.130812
>>> round(float(mutual_information(x, y, base=2)), 6)
0.188722
"""

from causal_influence.information.bootstrap import (
    BOOTSTRAP_METHODS,
    BootstrapResult,
    bootstrap_ci,
)
from causal_influence.information.estimators import (
    ESTIMATORS,
    Estimator,
    conditional_mutual_information_from_counts,
    entropy_from_counts,
    expected_mutual_information_from_counts,
    mutual_information_from_counts,
    register_estimator,
)
from causal_influence.information.measures import (
    conditional_mutual_information,
    entropy,
    expected_mutual_information,
    mutual_information,
    normalized_mutual_information,
    uncertainty_coefficient,
    variation_of_information,
)
from causal_influence.information.significance import (
    GTestResult,
    PermutationResult,
    g_test,
    permutation_test,
    permutation_test_counts,
)
from causal_influence.information.tables import contingency_table
from causal_influence.validation import resolve_rng

__all__ = [
    "BOOTSTRAP_METHODS",
    "ESTIMATORS",
    "BootstrapResult",
    "Estimator",
    "GTestResult",
    "PermutationResult",
    "bootstrap_ci",
    "conditional_mutual_information",
    "conditional_mutual_information_from_counts",
    "contingency_table",
    "entropy",
    "entropy_from_counts",
    "expected_mutual_information",
    "expected_mutual_information_from_counts",
    "g_test",
    "mutual_information",
    "mutual_information_from_counts",
    "normalized_mutual_information",
    "permutation_test",
    "permutation_test_counts",
    "register_estimator",
    "resolve_rng",
    "uncertainty_coefficient",
    "variation_of_information",
]
