"""Helpers shared by the tests that launch distributed CPU jobs."""


def retry_on_rank_abort(run_once):
    """``run_once(attempt)`` -> CompletedProcess; runs it once more (attempt 1) when a CPU rank
    aborted at interpreter exit after its work ('Signal 6 (SIGABRT)' from torchrun: seen about
    once in 30 runs, cause not found). The caller still checks every output of the run returned."""
    res = run_once(0)
    if res.returncode != 0 and 'Signal 6 (SIGABRT)' in res.stdout + res.stderr:
        res = run_once(1)
    return res
