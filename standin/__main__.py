"""Run the stand-in for people: ``python -m standin --faces ../shared/faces``.

Builds a catalog from a folder of photos (or loads one with ``--catalog``), serves it, and prints
the ``TOOL_*`` variables that point the tool at it. ``--run-tool`` also runs the tool (web app and
worker, as ``make run``) with those variables set; ``-- command ...`` runs any other command so.
The stand-in stops when the command ends:

    python -m standin --faces ../shared/faces --run-tool
    python -m standin --faces ../shared/faces -- python -m worker
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from standin.catalog import Catalog, build_from_faces
from standin.server import StandIn


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--faces", type=Path, help="build a catalog from this photo folder")
    source.add_argument("--catalog", type=Path, help="serve an existing catalog directory")
    parser.add_argument("--out", type=Path, help="where to write the built catalog "
                                                 "(default: a temporary directory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--user", help="approve OAuth logins as this test user without asking")
    parser.add_argument("--token-ttl", type=int, default=14400,
                        help="access token lifetime in seconds (Wikimedia: 14400)")
    parser.add_argument("--env-file", type=Path, help="also write the TOOL_* lines here")
    parser.add_argument("--run-tool", action="store_true",
                        help="run the tool (python -m likeness.dev) pointed at the stand-in")
    return parser.parse_args(argv), command


def load_catalog(args: argparse.Namespace) -> Catalog:
    if args.catalog:
        return Catalog.load(args.catalog)
    out = args.out or Path(tempfile.mkdtemp(prefix="standin-catalog-"))
    return build_from_faces(args.faces, out)


def main(argv: list[str] | None = None) -> int:
    args, command = parse_args(sys.argv[1:] if argv is None else argv)
    if args.run_tool:
        command = [sys.executable, "-m", "likeness.dev"]
    catalog = load_catalog(args)
    server = StandIn(catalog, host=args.host, port=args.port).bind()
    server.configure(token_ttl=args.token_ttl)
    if args.user:
        server.set_next_user(args.user)
    env = server.env()
    lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    if args.env_file:
        args.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Likeness stand-in for Wikimedia at {server.base_url}/", flush=True)
    print(f"Catalog {catalog.root}: {len(catalog.files)} files, {len(catalog.categories)} "
          f"categories, test users: {', '.join(u.name for u in catalog.users)}", flush=True)
    print("Point the tool at it with:", *lines, sep="\n", flush=True)
    if not command:
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0
    server.start()
    try:
        child = subprocess.Popen(command, env={**os.environ, **env})

        def forward(signum: int, _frame: object) -> None:  # let the tool shut down cleanly
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        return child.wait()
    finally:
        server.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
