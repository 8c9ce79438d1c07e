"""The machine a benchmark ran on, for its header line (shared by the benchmarks here)."""
import os
import platform


def processor_name() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (``platform`` elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown processor'


def machine_line() -> str:
    """``<processor>, <n> CPUs, load <1-min load average>`` (the load says how quiet it was)."""
    try:
        load = f', load {os.getloadavg()[0]:.2f}'
    except OSError:
        load = ''
    return f'{processor_name()}, {os.cpu_count()} CPUs{load}'
