"""analysis layer of causal-influence."""

__all__: list[str] = []
