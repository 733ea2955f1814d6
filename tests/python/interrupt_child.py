"""Test helper: run Python code in a child process and send it a real SIGINT (what Ctrl-C in a
terminal or Jupyter's interrupt button does) once it prints a given line."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import List, Tuple


def interrupt_child(
    code: str, ready: str, delay: float = 0.0, kill_after: float = 180.0
) -> Tuple[List[str], str, float, int]:
    """Starts ``code`` (dedented) in a child Python, waits for a stdout line starting with ``ready``,
    sleeps ``delay`` seconds and sends SIGINT. Returns ``(stdout lines, stderr, time the signal was
    sent, return code)``; the child is killed after ``kill_after`` seconds so a test never hangs."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    killer = threading.Timer(kill_after, proc.kill)
    killer.start()
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line.strip())
            if line.startswith(ready):
                break
        assert seen and seen[-1].startswith(ready), (seen, proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(delay)
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
    return seen + rest.split("\n"), err, sent, proc.returncode
