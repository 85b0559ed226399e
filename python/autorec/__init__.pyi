# Type stubs of the autorec package (autorec/__init__.py).
import enum
import os
from typing import Any, Callable, Optional, Sequence, Tuple, Union

from ._autorec import (BadInputError as BadInputError, CorruptModelError as CorruptModelError,
                       DivergedError as DivergedError, Error as Error, Model as Model,
                       UnsupportedError as UnsupportedError, cpu_level as cpu_level)

__version__: str
RatingsData = Union[str, os.PathLike, Any, Tuple[Any, Any, Any]]

class Source(enum.IntEnum):
    MODEL: int
    USER_MEAN: int
    ITEM_MEAN: int
    GLOBAL_MEAN: int
    EMPTY_INPUT: int

def train(ratings: RatingsData, *, recipe: str = "default", test: Optional[RatingsData] = None,
          validation: Optional[RatingsData] = None,
          columns: Sequence[str] = ("user", "item", "rating"), progress: Optional[Callable[[dict], Any]] = None,
          **settings: Any) -> Model: ...
def evaluate(model: Model, test: RatingsData, *, columns: Sequence[str] = ("user", "item", "rating"),
             clamp: bool = True, skip_bad_lines: bool = False, top_k: Union[int, Sequence[int], None] = None,
             relevant_at: Optional[float] = None, seed: int = 1, threads: int = 0) -> dict: ...
def history_frame(model: Model) -> Any: ...
