from collections.abc import Callable
from typing import Any

import torch

class Calls:
    per_backward: list[int]
    def __init__(self) -> None: ...

class Blackbox(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, f: Callable[[Any], Any], options: Any, calls: Any) -> torch.Tensor: ...
    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: torch.Tensor) -> None: ...
    @staticmethod
    def vmap(info: Any, in_dims: Any, x: torch.Tensor, f: Any, options: Any, calls: Any) -> Any: ...
    @staticmethod
    def backward(ctx: Any, v: torch.Tensor) -> Any: ...

def blackbox(f: Callable[[Any], Any], **options: Any) -> Callable[[torch.Tensor], torch.Tensor]: ...
