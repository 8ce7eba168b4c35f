"""pytest: doctests of the package's modules whose optional dependency is installed."""

import importlib.util

collect_ignore = [
    f"jacsense/{name}.py" for name in ("jax", "torch") if importlib.util.find_spec(name) is None
]
