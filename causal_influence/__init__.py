"""causal-influence: counterfactual social influence between learning agents."""

__version__ = "0.1.0"
