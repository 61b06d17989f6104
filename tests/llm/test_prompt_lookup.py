"""Guessing a reply's next tokens from its prompt."""

from __future__ import annotations

from chatbot.llm.prompt_lookup import propose


def test_the_tokens_after_the_latest_earlier_match_are_guessed() -> None:
    # "5 6" occurs twice before the end; the later occurrence was followed by 9.
    assert propose([5, 6, 7, 8, 5, 6, 9, 1, 5, 6], 2) == [9, 1]


def test_a_longer_match_wins_over_a_later_shorter_one() -> None:
    # The last three tokens "1 2 3" occur once, followed by 4; "2 3" alone occurs later, followed by 8.
    assert propose([1, 2, 3, 4, 0, 2, 3, 8, 1, 2, 3], 1) == [4]


def test_at_most_count_tokens_and_never_past_the_end() -> None:
    assert propose([1, 2, 3, 4, 5, 6, 1, 2], 3) == [3, 4, 5]
    assert propose([4, 1, 2, 1], 5) == [2, 1]  # "1" was followed by "2 1", the end of the context


def test_nothing_is_guessed_without_a_match_or_a_count() -> None:
    assert propose([1, 2, 3, 4], 3) == []
    assert propose([1, 2, 1, 2], 0) == []
    assert propose([], 3) == [] and propose([7], 3) == []
