from collections.abc import Callable, Sequence
from typing import Any

def blackbox(f: Callable[[Any], Any], out_shape: Sequence[int], **options: Any) -> Callable[[Any], Any]: ...
