"""tightfit: run Qwen3.5 MoE models (text and images) on the CPU, from Python.

The same calls as mlx-vlm's, so a model card's example works with ``tightfit`` in place of
``mlx_vlm``::

    from tightfit import load, generate
    model, processor = load("models/tiny-random-vl")
    response = generate(model, processor, prompt="Describe this image.",
                        image="tests/data/tiny-qwen35moe-vl/img64x64.png", max_tokens=50)

Everything runs in tightfit's C++ engine (the ``tightfit._core`` extension over
include/tightfit/tightfit.h); this package only shapes the calls. The GIL is released while
the engine works, Ctrl-C raises KeyboardInterrupt within one token, and several threads may
generate with one model at once (the engine decodes them together).
"""

from tightfit._core import (
    BusyError,
    Error,
    Event,
    InvalidRequestError,
    MemoryPlan,
    Model,
    ModelInfo,
    ModelNotFoundError,
    OutOfMemoryError,
    PlanItem,
    PlanKVWidth,
    RequestStream,
    builtin_recipes,
    convert,
    inspect,
    plan,
)
from tightfit._processor import Processor, Tokenizer
from tightfit._generate import GenerationResult, generate, load, stream_generate
from tightfit._chat import Chat

__all__ = [
    "BusyError",
    "Chat",
    "Error",
    "Event",
    "GenerationResult",
    "InvalidRequestError",
    "MemoryPlan",
    "Model",
    "ModelInfo",
    "ModelNotFoundError",
    "OutOfMemoryError",
    "PlanItem",
    "PlanKVWidth",
    "Processor",
    "RequestStream",
    "Tokenizer",
    "builtin_recipes",
    "convert",
    "generate",
    "inspect",
    "load",
    "plan",
    "stream_generate",
]
