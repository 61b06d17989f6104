"""Entry point for `python -m chatbot`."""

from chatbot.cli import main

main()
