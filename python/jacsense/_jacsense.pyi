"""The native module (PyO3): the Rust core's scheme, session and vjp plan."""

from typing import Any, Optional

import numpy as np

__version__: str

class Error(ValueError): ...

class Scheme:
    def __init__(self, spec: dict[str, Any]) -> None: ...
    def at(
        self,
        x0: np.ndarray,
        f0: Optional[np.ndarray] = None,
        lower: Optional[np.ndarray] = None,
        upper: Optional[np.ndarray] = None,
        max_calls: Optional[int] = None,
        tol: Optional[float] = None,
    ) -> Session: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> Scheme: ...
    n: int
    m: int
    calls: int
    measurements: int
    lower_bound: int
    design: str
    decoder: str
    coloring: Optional[tuple[str, int]]
    dense: bool

class VjpPlan:
    def __init__(self, spec: dict[str, Any], x0: np.ndarray, vs: np.ndarray, route: str = "auto", sparsity: Optional[int] = None) -> None: ...
    n: int
    m: int
    calls: int
    route: str
    x0_call: Optional[int]
    def points(self) -> np.ndarray: ...
    def tell(self, call: int, y: np.ndarray) -> None: ...
    def tell_rows(self, calls: list[int], values: np.ndarray) -> None: ...
    def erase(self, call: int, reason: Optional[str] = None) -> None: ...
    def estimate(self, plan_seconds: float = 0.0, calls_seconds: float = 0.0, extra_calls: int = 0, workers: int = 0) -> list[dict[str, Any]]: ...

def color(m: int, n: int, indptr: list[int], indices: list[int], ordering: str = "best", kind: str = "column") -> dict[str, Any]: ...

class Session:
    def __init__(
        self,
        spec: dict[str, Any],
        x0: np.ndarray,
        f0: Optional[np.ndarray] = None,
        lower: Optional[np.ndarray] = None,
        upper: Optional[np.ndarray] = None,
        max_calls: Optional[int] = None,
        tol: Optional[float] = None,
    ) -> None: ...
    n: int
    m: int
    x0: np.ndarray
    scheme: Scheme
    round: int
    done: bool
    calls: Optional[int]
    total_calls: int
    x0_call: Optional[int]
    def points(self) -> np.ndarray: ...
    def pending(self) -> list[int]: ...
    def tell(self, call: int, y: np.ndarray) -> None: ...
    def tell_all(self, values: np.ndarray) -> None: ...
    def tell_rows(self, calls: list[int], values: np.ndarray) -> None: ...
    def erase(self, call: int, reason: Optional[str] = None) -> None: ...
    def finish_round(self) -> Optional[int]: ...
    def rounds(self) -> list[dict[str, Any]]: ...
    def estimate(
        self,
        plan_seconds: float = 0.0,
        calls_seconds: float = 0.0,
        decode_seconds: float = 0.0,
        extra_calls: int = 0,
        workers: int = 0,
    ) -> dict[str, Any]: ...
    def vjp(
        self,
        plan: VjpPlan,
        vs: np.ndarray,
        plan_seconds: float = 0.0,
        calls_seconds: float = 0.0,
        decode_seconds: float = 0.0,
        extra_calls: int = 0,
        workers: int = 0,
    ) -> list[dict[str, Any]]: ...
    def to_json(self) -> tuple[str, bool]: ...
    @staticmethod
    def from_json(text: str, finish: bool = False) -> Session: ...
