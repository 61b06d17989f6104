"""The web app: the shopper chat at /, and the staff's agent-assist panel at /assist/ behind a login.

Run `python app.py [--host HOST] [--port PORT] [--settings FILE]` (or `chatbot serve`).
"""

from __future__ import annotations

import argparse

from chatbot.web.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="Address to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, help="Port (default 7860).")
    parser.add_argument("--settings", help="TOML settings file.")
    args = parser.parse_args()
    serve(args.settings, args.host, args.port)


if __name__ == "__main__":
    main()
