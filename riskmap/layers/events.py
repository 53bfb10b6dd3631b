"""A minimal, Qt-free event emitter: models emit, views subscribe."""
from __future__ import annotations

import weakref
from typing import Callable


class Event:
    """A named event with connectable callbacks.

    Bound methods are held weakly so a closed widget never keeps a model alive
    nor receives calls after it is garbage-collected.
    """

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list = []
        self._blocked = 0

    def connect(self, callback: Callable) -> Callable:
        """Call ``callback(**kwargs)`` on every emit; returns the callback."""
        ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda cb=callback: cb)
        self._callbacks.append(ref)
        return callback

    def disconnect(self, callback: Callable) -> None:
        """Stop calling ``callback``."""
        self._callbacks = [r for r in self._callbacks if r() is not None and r() != callback]

    def emit(self, **kwargs) -> None:
        """Call every live callback with ``kwargs``."""
        if self._blocked:
            return
        alive = []
        for ref in list(self._callbacks):
            cb = ref()
            if cb is None:
                continue
            alive.append(ref)
            cb(**kwargs)
        self._callbacks = alive

    def blocked(self):
        """Context manager suppressing emits (batch edits)."""
        event = self

        class _Block:
            def __enter__(self):
                event._blocked += 1

            def __exit__(self, *exc):
                event._blocked -= 1

        return _Block()


class EmitterGroup:
    """A set of named events, e.g. ``layer.events.changed.connect(...)``."""

    def __init__(self, *names: str):
        for name in names:
            setattr(self, name, Event(name))
