"""`rf serve`: the API in one or more processes, each listening on a socket of its own.

Workers bind the port with SO_REUSEPORT, so that the kernel spreads new connections evenly
between them. With one socket shared by every worker (`uvicorn --workers`), the process
that wakes first takes a whole burst of connections: 32 keep-alive connections split 23 to
9, and the busy process's requests waited over twice as long as the other's (1,000,000
facilities, OGC items at 32 connections: 771-817 pages/s, p99 104 ms, where two servers
of 16 connections each gave 923/s, p99 66-73 ms).

The supervisor restarts a worker that dies, stops every worker on SIGINT or SIGTERM, and
gives up when a worker cannot start (the port is taken, the settings are wrong). A worker
whose supervisor is gone (killed with SIGKILL, say) stops itself, so that no orphan keeps
serving the port."""

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

APP = "app.main:create_app"
logger = logging.getLogger("uvicorn.error")


class CannotListen(Exception):
    pass


def serve(*, host: str, port: int, workers: int, access_log: bool) -> int:
    """Serves until stopped; the exit status."""
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, access_log=access_log)
        return 0
    # SO_REUSEPORT would let these workers share the port with another server of the same
    # user, which would then answer part of the requests: a plain bind first says whether
    # anything listens there.
    try:
        _listener(host, port, reuse_port=False).close()
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    spawn = multiprocessing.get_context("spawn")

    def start() -> BaseProcess:
        process = spawn.Process(target=_worker, args=(host, port, access_log), name="rf-worker")
        process.start()
        return process

    running = [start() for _ in range(workers)]
    status = 0
    stopping = False

    def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while running:
        wait([process.sentinel for process in running])
        for ended in [process for process in running if not process.is_alive()]:
            running.remove(ended)
            if stopping:
                continue
            if ended.exitcode == STARTUP_FAILURE:
                status = STARTUP_FAILURE
                stop()
            else:
                logger.warning("worker %s ended (%s); starting another", ended.pid, ended.exitcode)
                running.append(start())
    return status


def _listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, access_log: bool) -> None:
    threading.Thread(target=_stop_without, args=(os.getppid(),), daemon=True).start()
    config = uvicorn.Config(APP, factory=True, host=host, port=port, access_log=access_log)
    try:
        sock = _listener(host, port, reuse_port=True)
    except OSError as exc:
        logger.error("cannot listen on %s:%s: %s", host, port, exc.strerror)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(config).run(sockets=[sock])


def _stop_without(supervisor: int) -> None:
    """Stops this worker as SIGTERM does (gracefully) once its supervisor is gone."""
    while os.getppid() == supervisor:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
