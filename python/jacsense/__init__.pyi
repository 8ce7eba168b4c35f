"""Type stubs of the jacsense package."""

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__version__: str

ArrayLike = npt.ArrayLike
Pattern = Union[sp.sparray, sp.spmatrix, npt.ArrayLike]
Bounds = tuple[ArrayLike, ArrayLike]

class Error(ValueError): ...

class Status(str, enum.Enum):
    SOLVED = "solved"
    UNVERIFIED = "unverified"
    ILL_CONDITIONED = "ill-conditioned"
    SOLVER_LIMIT = "solver-limit"
    INCOMPLETE = "incomplete"
    UNDERDETERMINED = "underdetermined"

class Estimate:
    jacobian: Union[sp.csr_array, np.ndarray]
    std_errors: Optional[Union[sp.csr_array, np.ndarray]]
    status: Status
    message: str
    calls: int
    erasures: list[tuple[int, str]]
    outliers: list[tuple[int, str]]
    undetermined_rows: list[int]
    design: str
    decoder: str
    noise: Optional[float]
    f0: Optional[np.ndarray]
    report: dict[str, Any]
    rounds: list[dict[str, Any]]
    tol_met: Optional[bool]
    @property
    def shape(self) -> tuple[int, int]: ...
    def spy(self, ax: Any = None, markersize: Optional[float] = None) -> Any: ...

class VjpEstimate:
    w: np.ndarray
    status: Status
    calls: int
    route: str
    decoder: str
    erasures: list[tuple[int, str]]
    outliers: list[tuple[int, str]]
    support: Optional[list[int]]
    residual: Optional[float]
    message: str
    rounds: list[dict[str, Any]]
    tol_met: Optional[bool]
    report: dict[str, Any]
    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray: ...

class Coloring:
    colors: np.ndarray
    num_colors: int
    ordering: str
    valid: bool
    lower_bound: int
    def groups(self) -> list[np.ndarray]: ...

def color(pattern: Pattern, ordering: str = "best", kind: str = "column") -> Coloring: ...

class Plan:
    @property
    def calls(self) -> int: ...
    @property
    def total_calls(self) -> int: ...
    @property
    def round(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    @property
    def x0(self) -> np.ndarray: ...
    @property
    def scheme(self) -> Scheme: ...
    def points(self) -> np.ndarray: ...
    def pending(self) -> list[int]: ...
    def tell(self, i: int, y: ArrayLike) -> None: ...
    def tell_all(self, Y: ArrayLike) -> None: ...
    def erase(self, i: int, reason: Optional[str] = None) -> None: ...
    def finish_round(self) -> bool: ...
    def evaluate(
        self,
        f: Callable[..., Any],
        *,
        args: Sequence[Any] = (),
        kwargs: Optional[dict[str, Any]] = None,
        vectorized: bool = False,
        executor: Any = None,
        progress: bool = False,
    ) -> Plan: ...
    def estimate(self) -> Optional[Estimate]: ...

class Scheme:
    def __init__(
        self,
        pattern: Optional[Pattern] = None,
        *,
        shape: Optional[tuple[int, int]] = None,
        symmetric: bool = False,
        row_sparsity: Optional[int] = None,
        ties: Optional[Iterable[Iterable[Sequence[float]]]] = None,
        known: Any = None,
        design: str = "auto",
        decoder: str = "auto",
        ordering: Optional[str] = None,
        calls: Optional[int] = None,
        max_calls: Optional[int] = None,
        outliers: float = 0.0,
        noise: float = 0.0,
        tol: Optional[float] = None,
        central: bool = False,
        method: Optional[str] = None,
        step: Optional[float] = None,
        abs_step: Optional[ArrayLike] = None,
        seed: int = 0,
        condition_tolerance: Optional[float] = None,
    ) -> None: ...
    def at(
        self,
        x0: ArrayLike,
        f0: Optional[ArrayLike] = None,
        bounds: Optional[Bounds] = None,
        *,
        max_calls: Optional[int] = None,
        tol: Optional[float] = None,
    ) -> Plan: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    @property
    def calls(self) -> int: ...
    @property
    def lower_bound(self) -> int: ...
    @property
    def design(self) -> str: ...
    @property
    def decoder(self) -> str: ...

def jacobian(
    f: Callable[..., Any],
    x0: ArrayLike,
    *,
    pattern: Optional[Pattern] = None,
    symmetric: bool = False,
    row_sparsity: Optional[int] = None,
    ties: Optional[Iterable[Iterable[Sequence[float]]]] = None,
    known: Any = None,
    bounds: Optional[Bounds] = None,
    f0: Optional[ArrayLike] = None,
    design: str = "auto",
    decoder: str = "auto",
    calls: Optional[int] = None,
    max_calls: Optional[int] = None,
    outliers: float = 0.0,
    noise: float = 0.0,
    tol: Optional[float] = None,
    central: bool = False,
    step: Optional[float] = None,
    seed: int = 0,
    vectorized: bool = False,
    executor: Any = None,
    progress: bool = False,
    method: Optional[str] = None,
    abs_step: Optional[ArrayLike] = None,
    ordering: Optional[str] = None,
    condition_tolerance: Optional[float] = None,
    args: Sequence[Any] = (),
    kwargs: Optional[dict[str, Any]] = None,
) -> Estimate: ...
def vjp(
    f: Callable[..., Any],
    x0: ArrayLike,
    v: ArrayLike,
    *,
    pattern: Optional[Pattern] = None,
    symmetric: bool = False,
    row_sparsity: Optional[int] = None,
    ties: Optional[Iterable[Iterable[Sequence[float]]]] = None,
    known: Any = None,
    bounds: Optional[Bounds] = None,
    f0: Optional[ArrayLike] = None,
    design: str = "auto",
    decoder: str = "auto",
    calls: Optional[int] = None,
    max_calls: Optional[int] = None,
    outliers: float = 0.0,
    noise: float = 0.0,
    tol: Optional[float] = None,
    central: bool = False,
    step: Optional[float] = None,
    seed: int = 0,
    vectorized: bool = False,
    executor: Any = None,
    progress: bool = False,
    method: Optional[str] = None,
    abs_step: Optional[ArrayLike] = None,
    ordering: Optional[str] = None,
    condition_tolerance: Optional[float] = None,
    route: str = "auto",
    sparsity: Optional[int] = None,
    args: Sequence[Any] = (),
    kwargs: Optional[dict[str, Any]] = None,
) -> Any: ...
def gradient(f: Callable[..., Any], x0: ArrayLike, **options: Any) -> VjpEstimate: ...
