"""Which dataclasses a checkpoint may rebuild: a registry of state classes by name.

Checkpoints (:mod:`oncoscale.run.checkpoint`) store states as data and rebuild dataclasses only
if they were registered here with :func:`state_class`, so that opening a checkpoint from someone
else's folder never runs foreign code. Model-agnostic (numerical memories such as an
integrator's step size register here too).
"""

from __future__ import annotations

from dataclasses import is_dataclass

_STATE_CLASSES: dict[str, type] = {}


def state_class(cls: type) -> type:
    """Class decorator: allow this dataclass in checkpoints."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass to be a state class")
    _STATE_CLASSES[f"{cls.__module__}:{cls.__qualname__}"] = cls
    return cls


def registered_state_class(name: str) -> type | None:
    """The state class registered as ``module:qualname``, or None."""
    return _STATE_CLASSES.get(name)
