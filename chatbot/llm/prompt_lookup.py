"""Guessing a reply's next tokens from its own prompt (prompt lookup): answers from passages copy
their words, so the tokens that followed the reply's last few tokens where they appear earlier
are a likely continuation. The guess is checked by the model in one pass (continuous_batch.py): a
guessed token is kept only where it is the token the model would have chosen itself.

On the demo eval's prompts, the bundled decoder's greedy answers were written 2.2 tokens per pass
with 3 guessed tokens, a little more with 5 or 8 (docs/speed-log.md, "Prompt lookup";
benchmarks/generation_speed.py counts the guessed tokens kept and the passes on demo replies)."""

from __future__ import annotations

from collections.abc import Sequence

LONGEST_MATCH = 3  # tokens of the reply's end looked up, longest first


def propose(context: Sequence[int], count: int, longest: int = LONGEST_MATCH) -> list[int]:
    """Up to `count` tokens that followed the last occurrence, before the end, of the context's
    last `longest` tokens (else its last `longest - 1`, down to 1); [] when none occurs earlier.

    >>> propose([7, 1, 2, 3, 4, 5, 9, 1, 2], 3)  # "1 2" was followed by "3 4 5"
    [3, 4, 5]
    >>> propose([7, 1, 2, 3, 8, 2], 2)  # only the last token matches: "2" was followed by "3 8"
    [3, 8]
    >>> propose([1, 2, 3], 4)
    []
    """
    tokens = list(context)
    if count <= 0:
        return []
    for size in range(min(longest, len(tokens) - 1), 0, -1):
        tail = tokens[-size:]
        # The latest earlier occurrence: recent text is the likeliest to be continued alike.
        for start in range(len(tokens) - size - 1, -1, -1):
            if tokens[start + size - 1] == tail[-1] and tokens[start:start + size] == tail:
                return tokens[start + size:start + size + count]
    return []
