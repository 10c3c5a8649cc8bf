"""agents layer of causal-influence."""

__all__: list[str] = []
