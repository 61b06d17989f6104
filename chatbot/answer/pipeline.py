"""The one answering pipeline behind the chat, the CLI and batch: retrieve, decide, generate, cite."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.answer.compose import MEASURE_WORDS, asks_yes_or_no, compose
from chatbot.answer.sums import asks_deadline, asks_points_after_discount, earns_after_discount, names_date
from chatbot.answer.sums_zh import asks_deadline_zh, asks_points_after_discount_zh, counts_days_zh, earns_after_discount_zh
from chatbot.answer.condense import Condenser, make_condenser, shopper_turns
from chatbot.answer.evidence import Abstention
from chatbot.answer.grounding import extract, ground
from chatbot.answer.guardrails import (
    REASON_OFF_TOPIC,
    REASON_PAYMENT_DISPUTE,
    REASON_SENSITIVE,
    TopicGuard,
    Verdict,
    leaks_prompt,
    payment_dispute,
    remove_instructions,
    rule_verdict,
)
from chatbot.answer.mentions import Mentions, named_in
from chatbot.answer.prompts import render_prompt
from chatbot.errors import ChatbotError, QuestionError, SettingsError
from chatbot.knowledge.embedding import Embedder
from chatbot.knowledge.lexical import embedder_reads
from chatbot.knowledge.retrieval import Retriever, ScoredBy, ScoringRetriever, merge_results
from chatbot.llm.base import BatchGenerator, Generator, Message, generate
from chatbot.orders.chat import (
    DURATION,
    ORDER_FOUND,
    ORDER_LOCKED,
    OrderDesk,
    OrderLookup,
    OrderSession,
    asks_for_a_time_limit,
    has_policy_part,
    order_facts,
    order_passage,
    shift_citations,
    without_order_details,
)
from chatbot.settings import Settings
from chatbot.text.citations import cite_best_passage, map_citations, split_sentences, strip_markers
from chatbot.text.colloquial import with_formal_words
from chatbot.text.places import with_regions
from chatbot.text.questions import asked_part, split_questions
from chatbot.text.topics import focus_topics, says_topic
from chatbot.text.words import content_words, has_han, reply_language, says_something
from chatbot.values import Answer, Passage

if TYPE_CHECKING:  # the order store's module imports SQLAlchemy
    from chatbot.orders.store import OrderRecord

REASON_NO_EVIDENCE = "no_evidence"
REASON_ANSWERED = "answered"
REASON_EMPTY_ANSWER = "empty_answer"
REASON_ASKED_FOR_HUMAN = "user_asked_for_human"
REASON_UNSUPPORTED = "unsupported_answer"
REASON_OTHER_LANGUAGE = "other_language"  # the shopper writes in a language the pages are not in
REASON_QUOTED = "quoted"  # nothing the model wrote was supported: the best passage is quoted instead
ANSWER_STYLES = ("extractive", "generative", "hybrid")
LEAD_IN_WORDS = 25  # a longer lead-in is not "short": dropped
# What each escalation tells the shopper (a prompt file in prompts/).
PART_SENTENCES = 2  # at most, for each question of a message that asks several
_MARKER = re.compile(r"\[(\d+)\]")


# A question about what an earlier one named: "how much does it cost?", "要加钱吗" (short: its subject is
# the earlier one's), "它贵吗".
_REFERS_BACK = re.compile(r"\b(?:it|its|it's|that|this|they|them|those|these)\b|[它这那]|^\W*[\u4e00-\u9fff]{1,4}\W*$", re.IGNORECASE)


def _place(shown: list[Passage], passage: Passage) -> int:
    """The passage's number (from 1) among `shown`, added at the end when it is new."""
    for number, seen in enumerate(shown, 1):
        if seen.id == passage.id:
            return number
    shown.append(passage)
    return len(shown)


DECLINE_PROMPTS = {REASON_ASKED_FOR_HUMAN: "handoff", REASON_OFF_TOPIC: "off_topic", REASON_SENSITIVE: "sensitive",
                   REASON_PAYMENT_DISPUTE: "payment_dispute", REASON_OTHER_LANGUAGE: "other_language"}

_WANTS_PERSON = re.compile(
    r"\b(talk|speak|chat|connect me|put me through|transfer me|get me|pass me)\s+(to|with|through to)?\s*"
    r"(a|an|some|your|real|live|actual|\s)*"
    r"(person|human|agent|someone|somebody|representative|advisor|adviser|staff|operator|manager|supervisor)\b"
    r"|\b(real|live|actual) (person|human|agent|human being)\b"
    r"|\banyone\b[^.?!]{0,40}\b(speak|talk)\b"
    r"|^\W*(agent|operator|human|manager|representative)( please| now)?\W*$"
    # Chinese: "transfer to a person", "human agent", "a real person", "I want to complain".
    r"|转人工|人工(客服|服务|坐席)|真人(客服|服务|接待|回复)|(找|叫|要)(个|一个)?(人|活人|经理|主管|领导)(来)?(跟|和|与)?(我)?(说|谈|聊|处理)"
    r"|我要投诉|我想投诉|我要(找)?(你们)?(的)?(经理|主管|领导)",
    re.IGNORECASE,
)

# Whether a sentence is finished: a sentence end with the citation markers that follow it.
_SENTENCE_END = re.compile(r"([.!?](\s*\[[\d,\s]+\])*|\n)\s*$")
# Up to the last sentence end (not the dot in "£4.95"), with the citation markers that follow it.
_COMPLETE_SENTENCES = re.compile(r".*[.!?](?:\s*\[[\d,\s]+\])*(?=\s|$)", re.DOTALL)


def as_pages_say(text: str, english: bool = False) -> str:
    """The text with the pages' words beside the shopper's: a place's region ("Italy (an EU country
    in Europe)") and the written word for an everyday one ("包邮（免运费）"; in English too with
    `english`: "money back (refund)")."""
    return with_regions(with_formal_words(text, english))


def clean_question(question: str, max_chars: int) -> str:
    """The question with surrounding whitespace removed; a clear error when it is empty or too long."""
    question = (question or "").strip()
    if not question:
        raise QuestionError("Please type a question.")
    if len(question) > max_chars:
        raise QuestionError(
            f"Your message is {len(question):,} characters long; the limit is {max_chars:,}. "
            "Please shorten it to the question itself."
        )
    return question


def wants_person(question: str) -> bool:
    """Whether the shopper asks for a human, which is always honoured.

    >>> wants_person("can I speak to a real person"), wants_person("is a person needed to sign?")
    (True, False)
    """
    return bool(_WANTS_PERSON.search(question))


@dataclass(frozen=True)
class Decision:
    """The retrieved passages, how well they match, and whether to answer or hand over."""

    passages: tuple[Passage, ...]
    confidence: float
    escalate: bool
    reason: str
    question: str = ""  # what is searched and answered: the message without instructions to the bot
    verdict: Verdict | None = None
    query: str = ""  # what was searched: `question`, or with a follow-up its standalone form


class Pipeline:
    """answer(question, history) -> Answer; stream(...) yields text pieces, then the Answer."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator | None,
        settings: Settings,
        condenser: Condenser | None = None,
        guard: TopicGuard | None = None,
        abstention: Abstention | None = None,
        orders: OrderDesk | None = None,
        embedder: Embedder | None = None,
        mentions: Mentions | None = None,
    ) -> None:
        if settings.answer_style not in ANSWER_STYLES:
            raise SettingsError(f"answer_style must be one of {', '.join(ANSWER_STYLES)}, not {settings.answer_style!r}.")
        self.retriever = retriever
        self.embedder = embedder  # for choosing the sentences of a composed answer; words alone without it
        self.generator = generator
        self.settings = settings
        self.condense = condenser or make_condenser(settings, generator, self._render)
        self.guard = guard
        self.abstention = abstention
        self.orders = orders
        self.mentions = mentions  # the pages' words: "do you sell dog beds?" asks for one they lack

    def with_retriever(self, retriever: Retriever, mentions: Mentions | None = None) -> Pipeline:
        """The same pipeline over another knowledge base's retriever (and that knowledge base's
        words). The calibrated abstention model belongs to the old index, so the plain
        `min_score` threshold decides instead."""
        return Pipeline(retriever, self.generator, self.settings, self.condense, self.guard, None, self.orders,
                        self.embedder, mentions)

    def search(self, question: str, history: Sequence[Message] = (), k: int | None = None) -> list[Passage]:
        return self._retrieve(question, history, k)[0]

    def _retrieve(
        self, question: str, history: Sequence[Message], k: int | None = None
    ) -> tuple[list[Passage], float, str]:
        """The passages for the question in its conversation, the best score of the question
        alone, and the standalone query searched (the question itself when it stands alone)."""
        k = k or self.settings.top_k
        alone = self._search(question, k)
        asked = asked_part(question)
        if asked != question and max((p.score for p in alone), default=0.0) < self.settings.min_score:
            # "Jumper doesn't fit, how do I return it?": when the whole message finds no page close
            # enough, its ask alone may. Only then: merged always, a generic ask ("can you help me
            # with this?") let other pages in (ABCD held-out hit@3 0.833 -> 0.767).
            alone = merge_results([alone, self.retriever.search(asked, k)], k)
        best_alone = max((p.score for p in alone), default=0.0)
        query = self.condense(question, history) if history else question
        if query == question:
            return alone, best_alone, query
        # The standalone query finds the topic of the conversation; the question alone still
        # finds a new topic ("and if it arrives broken?" after a delivery question).
        return merge_results([self._search(query, k), alone], k), best_alone, query

    def _search(self, text: str, k: int) -> list[Passage]:
        """The retriever's passages for `text`; for one naming a place or using everyday words,
        those for it in the pages' words too (`as_pages_say`: "Italy (an EU country in Europe)"
        for the pages' "other EU countries"), each passage at its better score."""
        found = self.retriever.search(text, k)
        said = as_pages_say(text, english=True)
        return found if said == text else merge_results([found, self.retriever.search(said, k)], k)

    def decide(
        self, question: str, history: Sequence[Message] = (), k: int | None = None, for_staff: bool = False
    ) -> Decision:
        """Retrieve, then decide whether to answer, decline or hand over (no generation).

        Messages and passages are data: sentences in them that give the bot orders ("ignore your
        instructions", "SYSTEM: ...") are removed before anything is searched, shown or checked.
        `for_staff`: a person is already reading it, so asking for one does not end the answer.
        """
        return self._decide(clean_question(question, self.settings.max_question_chars), history, k, for_staff)

    def _decide(self, message: str, history: Sequence[Message], k: int | None = None, for_staff: bool = False) -> Decision:
        """`decide` for a message already cleaned (`clean_question`)."""
        if wants_person(message) and not for_staff:
            return Decision((), 1.0, True, REASON_ASKED_FOR_HUMAN, message)
        rule = rule_verdict(message) if self.guard else None  # a card number or a request for the system prompt comes first
        if rule:
            return Decision((), 0.0, True, rule.reason, message, rule)
        if payment_dispute(message) and not for_staff:  # "charged twice", "chargeback": always a person
            return Decision((), 1.0, True, REASON_PAYMENT_DISPUTE, message)
        question = remove_instructions(message)
        if not question:
            planted = Verdict(REASON_SENSITIVE, "instructions")
            return Decision((), 0.0, True, planted.reason, message, planted)
        if not for_staff and (reply_language(question) or "en") not in self.pages_languages():
            # Composed answers are the pages' sentences: in another language they would not be read.
            return Decision((), 0.0, True, REASON_OTHER_LANGUAGE, question)
        if self.mentions is not None:
            question = self.mentions.spelling.corrected(question)
        history = [{**m, "content": remove_instructions(m.get("content") or "")} for m in history]
        found, alone, query = self._retrieve(question, history, k)
        passages = tuple(replace(p, text=remove_instructions(p.text)) for p in found)
        # Fused rankings may put a passage with a lower cosine first: trust the best evidence.
        cosine = max(0.0, min(1.0, max((p.score for p in passages), default=0.0)))
        confidence, weak = cosine, cosine < self.settings.min_score
        scored_by = self._scored_by(question)
        reads = scored_by == "embedder"
        if scored_by == "language_embedder":  # the multilingual embedder's cosines: a scale of their own
            weak = cosine < self._language_min_score()
        elif scored_by == "words":
            # The embedder's cosine says nothing here: the best passage must hold enough of the
            # question's words instead.
            confidence = word_coverage(question, passages[:1])
            weak = confidence < self.settings.min_word_coverage
        elif self.abstention:  # calibrated on labelled questions: P(the passages answer it)
            confidence = self.abstention.probability(question, passages)
            weak = confidence < self.abstention.model.threshold
        elif weak and passages and cosine >= self.settings.follow_up_min_score and named_in(question, passages[0]):
            # "do u take bitcoin": MiniLM scores it low against "... or cryptocurrency such as
            # Bitcoin", but a question whether the shop takes X is about the page that names X.
            weak = False
        # In a conversation the previous turn lifts every score; an unrelated new question
        # ("what is the capital of France?") must still relate to the shop on its own.
        weak = weak or (reads and alone < self.settings.follow_up_min_score)
        said = self.mentions.stems if self.mentions is not None else frozenset()
        verdict = self.guard.verdict(message, question, cosine, weak, said) if self.guard else None
        if verdict:
            return Decision(passages, confidence, True, verdict.reason, question, verdict, query)
        # "Do you sell dog beds?": the nearest page (about bedding) may score well, but if the pages
        # never use a word near "dog", they do not say; nor do they say whether stoneware plates go
        # in the dishwasher when only their pans' sentence speaks of one.
        if self.mentions is not None and not weak:
            if reads:
                weak = self.mentions.unsaid(question)
            else:  # a question the first embedder does not read: "你们卖沙发吗"
                weak = self.mentions.unsaid_zh(question)
        if weak:
            return Decision(passages, confidence, True, REASON_NO_EVIDENCE, question, query=query)
        return Decision(passages, confidence, False, REASON_ANSWERED, question, query=query)

    def answer(self, question: str, history: Sequence[Message] = (), session: OrderSession | None = None) -> Answer:
        for item in self.stream(question, history, session):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() ended without an Answer")

    def stream(
        self, question: str, history: Sequence[Message] = (), session: OrderSession | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer's sentences as they are written and checked, then the final `Answer`.

        A sentence is shown once it is complete and its passages support it, so a shopper never
        sees what the check then drops. The final text may still differ from the streamed
        pieces: citation markers are renumbered, or a quote replaces an unsupported answer.
        A question about one order goes to the order desk (with `session`, the chat's identity
        checks so far; without, a new one).

        An empty or over-long question raises `QuestionError` here, at the call, before anything
        is searched: the chat shows the error without waiting for the first sentence.
        """
        return self._stream(clean_question(question, self.settings.max_question_chars), history, session)

    def _stream(self, message: str, history: Sequence[Message], session: OrderSession | None) -> Iterator[str | Answer]:
        if self.orders is not None and not wants_person(message):
            lookup = self.orders.lookup(remove_instructions(message) or message, history, session or OrderSession())
            if lookup is not None:
                answer = self._order_answer(lookup, message, history)
                yield answer.text
                yield answer
                return
        yield from self._policy_stream(message, history)

    def draft(
        self,
        message: str,
        history: Sequence[Message] = (),
        order: OrderRecord | None = None,
        temperature: float | None = None,
    ) -> Answer:
        """A reply for support staff to edit, checked like any answer. Staff need no identity
        check: with `order` (found by its number) the reply gives that order's status. A request
        for a person is not honoured (staff are the person). `temperature` > 0 samples another
        wording (the panel's "regenerate")."""
        message = clean_question(message, self.settings.max_question_chars)
        if order is not None:
            return self._order_answer(OrderLookup(ORDER_FOUND, order, order.number), message, history, for_staff=True)
        for item in self._policy_stream(message, history, temperature, for_staff=True):
            if isinstance(item, Answer):
                return item
        raise AssertionError("_policy_stream() ended without an Answer")

    def _order_answer(self, lookup: OrderLookup, message: str, history: Sequence[Message], for_staff: bool = False) -> Answer:
        """The order desk's reply: the verified order's status from its record (checked against
        it like any answer), with the policy's answer after it when the shopper also asks what
        the policy allows; otherwise a request for the number or proof, or the refusal."""
        if lookup.order is None:
            text = self._render(lookup.reason, reply_language(message), number=lookup.number)
            return Answer(text, (), 0.0, lookup.reason == ORDER_LOCKED, lookup.reason)
        language = order_language(message, history)  # the record's facts in the shopper's language, checked in it
        record = order_passage(lookup.order, language)
        written = self._render("order_status", language, number=lookup.number, status=lookup.order.status,
                               facts=order_facts(lookup.order, language))
        text, dropped = self._ground(" ".join(written.split()), [record])
        sources: tuple[Passage, ...] = (record,)
        if has_policy_part(message):
            # The policy's own words, quoted: "can I still return it?" needs the return window exactly.
            policy_question = without_order_details(message)
            decision = self.decide(policy_question, history, for_staff=for_staff)
            passages = list(decision.passages)
            if asks_for_a_time_limit(message):  # "can I still ...?": the passage that states the period
                passages.sort(key=lambda p: DURATION.search(p.text) is None)
            # A weak match is enough here ("can I still return?" is short): the quote must share the
            # question's words, and the order already says what the shopper is talking about.
            usable = decision.reason in (REASON_ANSWERED, REASON_NO_EVIDENCE)
            quote = extract(policy_question, passages[:1]) if usable else ""
            if quote:
                text, sources = f"{text} {shift_citations(quote, 1)}", (record, passages[0])
        notes = tuple((d.sentence, d.reason) for d in dropped)
        return Answer(text, sources, 1.0, False, ORDER_FOUND, dropped=notes)

    def _policy_stream(
        self, message: str, history: Sequence[Message], temperature: float | None = None, for_staff: bool = False
    ) -> Iterator[str | Answer]:
        """The policy answer to a cleaned message, sentence by sentence, then the `Answer`."""
        started = time.perf_counter()
        decision = self._decide(message, history, for_staff=for_staff)
        question = decision.question
        timings = {"retrieval_ms": (time.perf_counter() - started) * 1000}
        parts = split_questions(question) if decision.reason in (REASON_ANSWERED, REASON_NO_EVIDENCE) else [question]
        if self.settings.answer_style != "generative" and len(parts) > 1:
            composed = self._composed_parts(parts, history, decision, started, timings, for_staff)
            yield composed.text
            yield composed
            return
        if decision.escalate:
            timings["total_ms"] = (time.perf_counter() - started) * 1000
            declined = self._decline(decision, timings)
            yield declined.text
            yield declined
            return
        if self.settings.answer_style != "generative":
            composed = self._composed(decision, started, timings)
            yield composed.text
            yield composed
            return

        generator = self._require_generator()
        shown = self._shown(decision)
        written, checked, instructions = "", 0, self.system_prompt
        generation_started = time.perf_counter()
        stream = generator.stream(self._messages(question, history, shown), self.settings.max_new_tokens, temperature)
        try:
            for piece in stream:
                if not written:
                    timings["first_token_ms"] = (time.perf_counter() - started) * 1000
                written += piece
                if repeats(written):
                    break  # small models loop; a repeated sentence adds nothing
                *complete, _ = split_sentences(written[checked:]) or [""]
                for sentence in complete:
                    checked += len(sentence)
                    if (self._ground(sentence, shown)[0] and not leaks_prompt(written[:checked], instructions)
                            and not echoes_question(sentence, question)):
                        yield sentence
        finally:
            stream.close()
        timings["generation_ms"] = (time.perf_counter() - generation_started) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield self._finish(question, decision, written, timings)

    def answer_batch(self, questions: Sequence[str], batch_size: int = 16) -> list[Answer | ChatbotError]:
        """Answer many single questions, the decoder writing up to `batch_size` replies at once
        (a finished reply's place taken by the next); the same decisions and checks as `answer`.
        A question the pipeline refuses (empty, too long) gives its error in its place."""
        results: list[Answer | ChatbotError] = []
        pending: list[tuple[int, Decision, list[Message], float]] = []
        for question in questions:
            started = time.perf_counter()
            try:
                decision = self.decide(question)
            except ChatbotError as error:
                results.append(error)
                continue
            timings = {"retrieval_ms": (time.perf_counter() - started) * 1000}
            if decision.escalate:
                results.append(self._decline(decision, timings))
                continue
            if self.settings.answer_style != "generative":
                results.append(self._composed(decision, started, timings))
                continue
            results.append(Answer(""))  # written below
            messages = self._messages(decision.question, (), self._shown(decision))
            pending.append((len(results) - 1, decision, messages, timings["retrieval_ms"]))
        if not pending:
            return results
        generator = self._require_generator()
        pending.sort(key=lambda item: sum(len(m["content"]) for m in item[2]))  # similar lengths read together
        conversations = [messages for _, _, messages, _ in pending]
        started = time.perf_counter()
        if isinstance(generator, BatchGenerator):
            replies = generator.generate_batch(conversations, self.settings.max_new_tokens, stop_when=repeats,
                                               rows=batch_size)
        else:
            replies = [generate(generator, c, self.settings.max_new_tokens) for c in conversations]
        each = (time.perf_counter() - started) * 1000 / max(len(pending), 1)
        for (position, decision, _, retrieval_ms), reply in zip(pending, replies):
            timings = {"retrieval_ms": retrieval_ms, "generation_ms": each, "total_ms": retrieval_ms + each}
            results[position] = self._finish(decision.question, decision, until_repeat(reply), timings)
        return results

    def _composed(self, decision: Decision, started: float, timings: dict[str, float]) -> Answer:
        """The answer composed from the top passages' sentences closest to the question (with a
        follow-up, to its standalone query too), each cited; an escalation when they have none."""
        shown = self._with_related(decision.question, self._composable(decision))
        context = "" if decision.query in ("", decision.question) else decision.query
        text = " ".join(compose(as_pages_say(decision.question), shown, self._sentence_embedder(decision.question),
                                self.settings.compose_sentences, as_pages_say(context)))
        timings["first_token_ms"] = timings["total_ms"] = (time.perf_counter() - started) * 1000
        if not text:
            text = self._render("escalation", reply_language(decision.question))
            return Answer(text, (), decision.confidence, True, REASON_EMPTY_ANSWER, timings)
        if self.settings.answer_style == "hybrid":
            lead = self._lead_in(decision.question, text, shown)
            text = f"{lead} {text}" if lead else text
            timings["total_ms"] = (time.perf_counter() - started) * 1000
        text, sources = map_citations(text, shown)
        return Answer(text, sources, decision.confidence, False, REASON_ANSWERED, timings)

    def _composable(self, decision: Decision) -> list[Passage]:
        """The top `compose_passages` passages an answer may be composed from: those within
        `compose_margin` of the best one (a passage that matches much worse than the best is
        there for its words, "cracking" of a wooden board beside a cracked vase); on the
        multilingual embedder's narrower scale, within `language_compose_margin`."""
        top = list(decision.passages[: self.settings.compose_passages])
        closest = max(decision.passages, key=lambda p: p.score, default=None)
        if closest is not None and closest not in top:  # ranked lower by words and titles, but the closest of all
            top[-1] = closest
        best = max((p.score for p in top), default=0.0)
        by_language = self._scored_by(decision.question) == "language_embedder"
        margin = self.settings.language_compose_margin if by_language else self.settings.compose_margin
        return [p for p in top if p.score >= best - margin]

    def _with_related(self, question: str, passages: list[Passage]) -> list[Passage]:
        """The passages, and the other passages of their documents that a question needs beside
        them: for the last day from a date ("delivered on 10 Dec, when's the last day to return
        it?"), those that name a date (a page's "delivered between 1 November and 24 December ...
        until 31 January" may set the day, however far down the page it is) or, in Chinese, count
        days ("送达后30天内"); for a topic shops often leave unsaid ("can i give my points to my
        wife?") that no passage speaks of, those that do; for the points an order earns after a
        code, those that say whether points count what is paid after it."""
        def states_points_rule(text: str) -> bool:
            return earns_after_discount(text) or earns_after_discount_zh(text)

        topics = [topic for topic in focus_topics(question) if not any(says_topic(passage.text, topic) for passage in passages)]
        dated, chinese = asks_deadline(question), asks_deadline_zh(question)
        points = ((asks_points_after_discount(question) or asks_points_after_discount_zh(question))
                  and not any(states_points_rule(passage.text) for passage in passages))
        if not (dated or chinese or topics or points) or not isinstance(self.retriever, ScoringRetriever):
            return passages

        def wanted(text: str) -> bool:
            return (dated and names_date(text) or chinese and counts_days_zh(text)
                    or any(says_topic(text, topic) for topic in topics) or points and states_points_rule(text))

        shown = {passage.id for passage in passages}
        more = [passage for doc_id in dict.fromkeys(p.doc_id for p in passages) for passage in self.retriever.document_passages(doc_id)
                if passage.id not in shown and wanted(passage.text)]
        return [*passages, *more]

    def pages_languages(self) -> frozenset[str]:
        """The languages the knowledge base is written in (any, when the retriever does not say)."""
        return self.retriever.languages() if isinstance(self.retriever, ScoringRetriever) else frozenset(("en", "zh"))

    def _language_min_score(self) -> float:
        """The multilingual embedder's cosine a question needs to be answered: `language_min_score`,
        raised to `language_neighbour_margin` below the knowledge base's neighbour cosine where its
        passages lie nearer each other than a shop's (statutes that share their words)."""
        margin = self.settings.language_neighbour_margin
        neighbours = self.retriever.language_neighbours() if isinstance(self.retriever, ScoringRetriever) else None
        if margin > 0 and neighbours is not None:
            return max(self.settings.language_min_score, neighbours - margin)
        return self.settings.language_min_score

    def _scored_by(self, question: str) -> ScoredBy:
        if isinstance(self.retriever, ScoringRetriever):
            return self.retriever.scored_by(question)
        return "embedder" if embedder_reads(self.settings.embedder_languages, question) else "words"

    def _sentence_embedder(self, question: str) -> Embedder | None:
        """The embedder to rank a composed answer's sentences with, None (shared words alone) when
        it does not read the question's language."""
        if embedder_reads(self.settings.embedder_languages, question):
            return self.embedder
        return self.retriever.language_embedder() if isinstance(self.retriever, ScoringRetriever) else None

    def _lead_in(self, question: str, composed: str, shown: Sequence[Passage]) -> str:
        """`answer_style = "hybrid"`: the decoder's one-sentence lead-in to a composed answer, kept
        only when it is short, says something, and states no fact, name or verdict that the
        composed sentences do not (checked as if it cited each of them); "" otherwise."""
        sentences = [strip_markers(s).strip() for s in split_sentences(composed) if strip_markers(s).strip()]
        messages = [{"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": self._render("lead_in", question=question, sentences=sentences)}]
        written = split_sentences(tidy_answer(generate(self._require_generator(), messages, 48)))
        lead = strip_markers(written[0]).strip() if written else ""
        if not lead or len(lead.split()) > LEAD_IN_WORDS or echoes_question(lead, question):
            return ""
        said = Passage("composed", "composed", "", " ".join(sentences), "")
        kept, _ = self._ground(f"{lead} [1]", [said])
        return lead if kept else ""

    def _composed_parts(
        self, parts: Sequence[str], history: Sequence[Message], decision: Decision, started: float,
        timings: dict[str, float], for_staff: bool,
    ) -> Answer:
        """A message that asks several things, each answered on its own (the earlier parts are its
        conversation, so "do u do it to the isle of man?" knows what "it" is) and cited; a part
        the pages do not answer is named as such. An escalation when no part is answered."""
        shown: list[Passage] = []
        said: list[str] = []
        declined = False
        for number, part in enumerate(parts):
            earlier = [*history, *({"role": "user", "content": p} for p in parts[:number])]
            # "do you gift wrap, and how much does it cost?": what the pages do not offer has no price either
            # ... and "do you gift wrap? how much": a part that names nothing but a measure
            refers_back = declined and (_REFERS_BACK.search(asked_part(part)) is not None
                                        or content_words(asked_part(part)) <= MEASURE_WORDS | {"extra", "what"})
            found = replace(decision, escalate=True) if refers_back else self._decide(part, earlier, for_staff=for_staff)
            declined = found.escalate
            if found.escalate:
                said.append(self._render("unanswered_part", reply_language(part), question=asked_part(part).rstrip("?! ")))
                continue
            passages = self._with_related(found.question, self._composable(found))
            context = "" if found.query in ("", found.question) else found.query
            count = min(PART_SENTENCES, self.settings.compose_sentences)
            # a yes/no part with one word of its own ("do i have to pay?") is about what came before it
            alone = len(content_words(found.question)) < 2 and asks_yes_or_no(asked_part(part))
            asked = context if context and alone else found.question
            for sentence in compose(as_pages_say(asked), passages, self._sentence_embedder(found.question), count,
                                    as_pages_say(context)):
                cited = _MARKER.sub(lambda m: f"[{_place(shown, passages[int(m.group(1)) - 1])}]", sentence)
                if cited not in said:  # two parts may find the same sentence
                    said.append(cited)
        timings["first_token_ms"] = timings["total_ms"] = (time.perf_counter() - started) * 1000
        if not shown:
            return self._decline(replace(decision, escalate=True, reason=REASON_NO_EVIDENCE), timings)
        text, sources = map_citations(" ".join(said), shown)
        return Answer(text, sources, decision.confidence, False, REASON_ANSWERED, timings)

    def _require_generator(self) -> Generator:
        if self.generator is None:
            raise ChatbotError("This pipeline was built without a generator: it can search and decide, not answer.")
        return self.generator

    def _shown(self, decision: Decision) -> list[Passage]:
        """The passages the decoder is shown (and its [n] markers refer to)."""
        return list(decision.passages[: self.settings.prompt_passages])

    def _decline(self, decision: Decision, timings: dict[str, float]) -> Answer:
        language = reply_language(decision.question)
        pages = sorted(self.pages_languages())
        text = self._render(DECLINE_PROMPTS.get(decision.reason, "escalation"), language,
                            pages_language=LANGUAGE_NAMES[language or "en"].get(pages[0], pages[0]))
        return Answer(text, (), decision.confidence, True, decision.reason, timings)

    def _finish(self, question: str, decision: Decision, written: str, timings: dict[str, float]) -> Answer:
        """The checked Answer from what the model wrote: markers renumbered, unsupported
        sentences dropped, and a quote (or an escalation) when nothing useful is left."""
        confidence = decision.confidence
        shown = self._shown(decision)
        raw = tidy_answer(drop_repeated_sentences(written))
        if not raw:
            return Answer(self._render("escalation", reply_language(question)), (), confidence, True, REASON_EMPTY_ANSWER, timings)
        text, sources = map_citations(raw, shown)
        if not sources:
            text, sources = cite_best_passage(text, shown)
        sentences = split_sentences(text)
        echoes = [sentence for sentence in sentences if echoes_question(sentence, question)]
        if echoes:  # the decoder read the prompt back: "Question: how many days ...?"
            text = "".join(sentence for sentence in sentences if sentence not in echoes).strip()
        kept, dropped = self._ground(text, sources)
        notes = tuple((sentence.strip(), "repeats the question") for sentence in echoes)
        notes += tuple((d.sentence, d.reason) for d in dropped)
        if leaks_prompt(raw, self.system_prompt):  # small models echo their instructions
            kept, notes = "", ((raw, "repeats the bot's instructions"),)
        # "Yes, I am." or "The answer is: 2." passes every check and says nothing about the shop.
        if not says_something(kept):
            quote = extract(question, shown) if self.settings.quote_when_unsupported else ""
            if quote:
                return Answer(quote, (shown[0],), confidence, False, REASON_QUOTED, timings, notes)
            return Answer(self._render("escalation", reply_language(question)), (), confidence, True, REASON_UNSUPPORTED, timings, notes)
        if kept != text:
            text, sources = map_citations(kept, sources)
            if not sources:
                text, sources = cite_best_passage(kept, shown)
        return Answer(text, sources, confidence, False, REASON_ANSWERED, timings, notes)

    def _ground(self, text: str, sources: Sequence[Passage]) -> tuple[str, tuple]:
        contact = (self.settings.store_name, self.settings.support_contact)
        return ground(text, sources, allowed=contact, min_support=self.settings.min_support)

    @functools.cached_property
    def system_prompt(self) -> str:
        """The system prompt, rendered once: it depends on the settings alone."""
        return self._render("system")

    def handoff_message(self) -> str:
        return self._render("handoff")

    def _messages(self, question: str, history: Sequence[Message], shown: Sequence[Passage]) -> list[Message]:
        turns = [
            {"role": m["role"], "content": remove_instructions(m["content"])}
            for m in history
            if m.get("role") in ("user", "assistant") and m.get("content")
        ]
        recent = turns[-2 * self.settings.history_turns :] if self.settings.history_turns > 0 else []
        return [
            {"role": "system", "content": self.system_prompt},
            *recent,
            {"role": "user", "content": self._render("answer", passages=shown, question=question)},
        ]

    def _render(self, name: str, language: str = "", **values: object) -> str:
        """A template from prompts_dir, from its `language` folder (prompts/zh/) when it has one."""
        if language and (Path(self.settings.prompts_dir) / language / f"{name}.j2").is_file():
            name = f"{language}/{name}"
        contact = self.settings.support_contact
        if name.startswith("zh/") and self.settings.support_contact_zh:
            contact = self.settings.support_contact_zh
        return render_prompt(self.settings.prompts_dir, name, store_name=self.settings.store_name, support_contact=contact, **values)


# The languages the pages can be in, named in the language of a reply.
LANGUAGE_NAMES = {"en": {"en": "English", "zh": "Chinese"}, "zh": {"en": "英文", "zh": "中文"}}


def order_language(message: str, history: Sequence[Message]) -> str:
    """The language to give an order's status in: the message's, without its order number, email
    and postcode; for a message that is only those ("jo@example.com"), the shopper's latest turn's.

    >>> order_language("jo@example.com", [{"role": "user", "content": "我的订单10452到哪了？"}])
    'zh'
    >>> order_language("it's jo@example.com", [{"role": "user", "content": "我的订单10452到哪了？"}])
    ''
    """
    for turn in [message, *reversed(shopper_turns(history))]:
        words = without_order_details(turn)
        if re.search(r"[A-Za-z]{2,}", words) or has_han(words):
            return reply_language(words)
    return ""


def word_coverage(question: str, passages: Sequence[Passage]) -> float:
    """The share of the question's content words that the best-covering passage (its title and
    text) holds.

    >>> from chatbot.values import Passage
    >>> word_coverage("促销商品可以退货吗", [Passage("p", "returns", "退货", "促销商品可在14天内退货。", "s")])
    1.0
    """
    asked = content_words(question)
    if not asked:
        return 0.0
    return max((len(asked & content_words(f"{p.title} {p.text}")) / len(asked) for p in passages), default=0.0)


def drop_repeated_sentences(text: str) -> str:
    """Keep the first of repeated sentences (compared without case, spaces or citation markers).

    >>> drop_repeated_sentences("Yes, within 1 hour [1]. Call us. Yes, within 1 hour. And")
    'Yes, within 1 hour [1]. Call us. And'
    """
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in split_sentences(text):
        key = " ".join(re.sub(r"\[[\d,\s]+\]|[^\w\s]", " ", sentence.lower()).split())
        if key in seen and len(key.split()) >= 3 and _SENTENCE_END.search(sentence):
            continue
        seen.add(key)
        kept.append(sentence)
    return "".join(kept)


def echoes_question(sentence: str, question: str) -> bool:
    """Whether a sentence of the answer only reads the prompt back: a "Question:" or "Passages:"
    line, or a question made of the shopper's own words.

    >>> echoes_question("Question: How many days do I have? [1]", "how many days do i have?")
    True
    >>> echoes_question("You have 30 days [1].", "How many days do I have?")
    False
    """
    text = strip_markers(sentence).strip()
    if re.match(r"(question|passages?)\s*:", text, re.IGNORECASE):
        return True
    words = content_words(text)
    return text.endswith("?") and bool(words) and words <= content_words(question)


def repeats(text: str) -> bool:
    """Whether the text has come to a repeated sentence (where generation can stop)."""
    return drop_repeated_sentences(text) != text


def until_repeat(text: str) -> str:
    """The text up to its first repeated sentence, where streaming would have stopped.

    >>> until_repeat("Yes, within 1 hour [1]. Call us. Yes, within 1 hour. And 14 days.")
    'Yes, within 1 hour [1]. Call us. '
    """
    written = ""
    for sentence in split_sentences(text):
        if repeats(written + sentence):
            return written
        written += sentence
    return written


def tidy_answer(text: str) -> str:
    r"""Trim whitespace, and a sentence cut off by the token limit when a complete one precedes it.

    >>> tidy_answer("Returns are free [1]. You can also")
    'Returns are free [1].'
    >>> tidy_answer("1. Sign in.\n2. Open My orders.\n3. ")
    '1. Sign in.\n2. Open My orders.'
    """
    text = re.sub(r"(^|\n)\s*\d+[.)]?\s*$", "", text.strip()).strip()  # a list's next number, and nothing after it
    match = _COMPLETE_SENTENCES.match(text)
    if match and match.end() < len(text):
        text = text[: match.end()]
    return text
