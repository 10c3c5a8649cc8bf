"""causal-influence: counterfactual social influence between learning agents.

The core is framework-neutral: arrays in (numpy or torch), arrays out. See the README for a
tour; every public name below has a numpydoc docstring with a runnable example.

Examples
--------
>>> import numpy as np
>>> import causal_influence as ci
>>> cf = np.array([[0.0, -np.inf], [-np.inf, 0.0]])  # the influencee copies the influencer
>>> round(float(ci.expected_influence(cf, np.zeros(2), base=2)), 6)
1.0
"""

from causal_influence.communication import (
    CoordinationResult,
    causal_influence_of_communication,
    context_independence,
    influential_moments,
    instantaneous_coordination,
    speaker_consistency,
)
from causal_influence.counterfactual import (
    expected_influence,
    influence,
    interventional_responsiveness,
    marginal_policy,
)
from causal_influence.divergences import (
    DIVERGENCES,
    Divergence,
    divergence,
    js_divergence,
    kl_divergence,
    pointwise_mutual_information,
    register_divergence,
    total_variation,
)
from causal_influence.engine import InfluenceResult, pairwise_influence
from causal_influence.errors import (
    CausalInfluenceError,
    ConfigError,
    DTypeError,
    EstimatorWarning,
    FewSamplesWarning,
    FileFormatError,
    InvalidDistributionError,
    ModelError,
    ShapeError,
    UndefinedConditionalWarning,
)
from causal_influence.grounding import conditional_coordination, grounded_information
from causal_influence.information import (
    ESTIMATORS,
    BootstrapResult,
    PermutationResult,
    bootstrap_ci,
    conditional_mutual_information,
    entropy,
    g_test,
    mutual_information,
    normalized_mutual_information,
    permutation_test,
    permutation_test_counts,
)
from causal_influence.io import load, open_dataset, save, write_shards
from causal_influence.models import (
    JointPolicyModel,
    LinearInputModel,
    PyroModel,
    RecurrentTorchModel,
    TabularModel,
    TorchModel,
)
from causal_influence.noise import NOISE_FLOOR_NATS, noise_floor, snap_to_zero
from causal_influence.rewards import credited_influence, influence_reward, reward_from_pairwise
from causal_influence.social import OutcomeSums, episode_outcomes, gini, social_outcomes
from causal_influence.trajectory import (
    InfluenceSpec,
    Trajectory,
    TrajectoryMeta,
    concat,
    stored_counterfactuals,
)

__version__ = "0.1.0"

#: Marks this package as part of the causal-influence distribution (see
#: :mod:`causal_influence.distribution`).
__distribution__ = "causal-influence"

__all__ = [
    "DIVERGENCES",
    "ESTIMATORS",
    "NOISE_FLOOR_NATS",
    "BootstrapResult",
    "CausalInfluenceError",
    "ConfigError",
    "CoordinationResult",
    "DTypeError",
    "Divergence",
    "EstimatorWarning",
    "FewSamplesWarning",
    "FileFormatError",
    "InfluenceResult",
    "InfluenceSpec",
    "InvalidDistributionError",
    "JointPolicyModel",
    "LinearInputModel",
    "ModelError",
    "OutcomeSums",
    "PermutationResult",
    "PyroModel",
    "RecurrentTorchModel",
    "ShapeError",
    "TabularModel",
    "TorchModel",
    "Trajectory",
    "TrajectoryMeta",
    "UndefinedConditionalWarning",
    "__version__",
    "bootstrap_ci",
    "causal_influence_of_communication",
    "concat",
    "conditional_coordination",
    "conditional_mutual_information",
    "context_independence",
    "credited_influence",
    "divergence",
    "entropy",
    "episode_outcomes",
    "expected_influence",
    "g_test",
    "gini",
    "grounded_information",
    "influence",
    "influence_reward",
    "influential_moments",
    "instantaneous_coordination",
    "interventional_responsiveness",
    "js_divergence",
    "kl_divergence",
    "load",
    "marginal_policy",
    "mutual_information",
    "noise_floor",
    "normalized_mutual_information",
    "open_dataset",
    "pairwise_influence",
    "permutation_test",
    "permutation_test_counts",
    "pointwise_mutual_information",
    "register_divergence",
    "reward_from_pairwise",
    "save",
    "snap_to_zero",
    "social_outcomes",
    "speaker_consistency",
    "stored_counterfactuals",
    "total_variation",
    "write_shards",
]
