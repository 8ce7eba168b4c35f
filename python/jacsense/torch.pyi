from collections.abc import Callable
from typing import Any

import torch

class Blackbox(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, f: Callable[[Any], Any], options: Any, calls: Any) -> torch.Tensor: ...
    @staticmethod
    def backward(ctx: Any, v: torch.Tensor) -> Any: ...

def blackbox(f: Callable[[Any], Any], **options: Any) -> Callable[[torch.Tensor], torch.Tensor]: ...
