"""The page's change counter: bumped on every change to the workspace, so open pages refresh."""

from __future__ import annotations

import threading


class Changes:
    """A version counter bumped on every change in the world; waiters wake on each bump."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.version = 1
        self.closed = False

    def bump(self) -> int:
        with self._cond:
            self.version += 1
            self._cond.notify_all()
            return self.version

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
