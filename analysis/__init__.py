"""analysis layer of causal-influence: statistics of saved trajectories, influence graphs,
reports and the ``causal-influence`` command line (:mod:`analysis.cli`)."""

from causal_influence.distribution import check_layers

#: Marks this package as part of the causal-influence distribution (see
#: :mod:`causal_influence.distribution`).
__distribution__ = "causal-influence"

# The sibling layers imported by the analysis must be ours, not packages of the same name.
check_layers("analysis", ["agents", "envs"])

__all__: list[str] = []
