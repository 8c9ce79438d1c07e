"""A tool process's exit without the interpreter's final garbage collections.

After ``import mmseg_hfpl`` a process holds some 300,000 objects (torch, mmcv, mmengine, sympy).
When it exits, CPython's finalisation clears every module and runs its cyclic collector over
all of them: half a second per process on this project's 2-core machines, paid by every
pipeline stage, every DDP rank and every tool a test launches
(``tools/benchmarks/tool_process.py`` measures it). Freezing the objects (``gc.freeze``) at
exit moves them out of the collector's sight. The exit handlers (logging's flush and close, torch's
and multiprocessing's clean-up) still run, and so do the destructors of everything freed by
reference counting; only objects held in reference cycles are left to the operating system,
which takes back their memory as it does for any process. One thing such an object could hold
that the operating system does not finish is a file's write buffer: every open file object is
flushed before the freeze.
"""
import atexit
import gc
import io

_registered = False
_FILE_TYPES = (io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper)


def flush_open_files() -> int:
    """Flush the write buffer of every open file object of the process (the collector would
    have flushed those it finalises); returns how many were flushed. A file that cannot be
    flushed (a closed pipe, a full disk) is skipped: this runs at exit, with nothing to report
    to."""
    flushed = 0
    for obj in gc.get_objects():
        # type(), not isinstance(): the latter reads __class__, which some objects (torch's
        # deprecated aliases) answer with a warning
        if issubclass(type(obj), _FILE_TYPES):
            try:
                if not obj.closed and obj.writable():
                    obj.flush()
                    flushed += 1
            except (OSError, ValueError):
                pass
    return flushed


def _flush_and_freeze():
    flush_open_files()
    gc.freeze()


def skip_exit_collection():
    """Register, once per process, an exit handler that flushes the open files and freezes
    every object (``gc.freeze``). Handlers run last-in first-out, so those registered before
    this call (at import: logging, multiprocessing, torch) run after it, unaffected: freezing
    only hides objects from the cyclic collector."""
    global _registered
    if not _registered:
        atexit.register(_flush_and_freeze)
        _registered = True
