"""One module per Kafka API, named `kNN_<api>.py` after its key (franz-go kfake style).

Each module's header says which versions it serves and how it behaves; its handler
registers with `@api(key, min, max)`. ApiVersions is derived from this registry, so the
advertised ranges can never drift from the code.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from partita.engine.api.registry import REGISTRY, ApiHandler


@cache
def load_handlers() -> dict[int, ApiHandler]:
    """Import every kNN_ module once; returns the registry keyed by API key."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("k") and info.name[1:3].isdigit():
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY
