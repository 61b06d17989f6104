"""Command line: build the index, search it, and ask questions (`python -m chatbot --help`)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from chatbot.answer.pipeline import Pipeline, clean_question
from chatbot.errors import ChatbotError, EvalSetError, QuestionError, SettingsError
from chatbot.settings import Settings, load_settings
from chatbot.values import Answer

app = typer.Typer(
    help="Customer-service chatbot: answers shoppers from the store's own policies, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SettingsFile = Annotated[Optional[Path], typer.Option("--settings", help="TOML settings file.")]
IndexDir = Annotated[Optional[Path], typer.Option("--index", help="Index folder (default: ./index).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _settings(settings_file: Path | None, **overrides: Any) -> Settings:
    return load_settings(settings_file, **overrides)


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command("build-index")
def build_index_command(
    kb: Annotated[Optional[Path], typer.Option("--kb", help="Knowledge base folder.")] = None,
    index: IndexDir = None,
    settings_file: SettingsFile = None,
) -> None:
    """Read the knowledge base and (re)build the search index; unchanged passages are not re-embedded."""
    from chatbot.service import index_knowledge_base, load_embedder

    settings = _settings(settings_file, kb_dir=kb, index_dir=index)
    result = index_knowledge_base(settings, load_embedder(settings))
    for skipped in result.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    report = result.report
    typer.echo(
        f"Indexed {report.passages} passages from {settings.kb_dir} into {settings.index_dir} "
        f"({report.embedded} embedded, {report.reused} unchanged) in {report.seconds:.1f}s."
    )


@app.command()
def search(
    query: str,
    k: Annotated[int, typer.Option("--k", min=1, help="How many passages.")] = 5,
    index: IndexDir = None,
    as_json: AsJson = False,
    settings_file: SettingsFile = None,
) -> None:
    """Show the passages that best match QUERY."""
    from chatbot.service import load_embedder, open_retriever

    settings = _settings(settings_file, index_dir=index)
    query = clean_question(query, settings.max_question_chars)
    retriever = open_retriever(settings, load_embedder(settings))
    results = retriever.search(query, k)
    if as_json:
        _print_json({"results": [{**p.as_source(), "text": p.text} for p in results]})
        return
    for rank, passage in enumerate(results, 1):
        typer.echo(f"{rank}. [{passage.score:.3f}] {passage.title} ({passage.id})\n   {passage.snippet()}")


@app.command()
def ask(
    questions: Annotated[
        list[str], typer.Argument(help="One or more questions; - reads one question a line from standard input.")
    ],
    index: IndexDir = None,
    as_json: AsJson = False,
    settings_file: SettingsFile = None,
) -> None:
    """Answer each QUESTION from the knowledge base, streaming the answer, then list its sources.

    The models load once for all of them: `chatbot ask "q1" "q2"`, or `chatbot ask -` with one
    question a line on standard input (typed at a terminal, each is answered as it is entered).
    With several questions (or -), each answer follows a `> question` line, and --json prints one
    JSON object a line, each with its "question".
    """
    from chatbot.service import create_pipeline

    settings = _settings(settings_file, index_dir=index)
    for question in questions:
        if question != "-":
            clean_question(question, settings.max_question_chars)  # fail fast, before loading the models
    several = len(questions) > 1 or "-" in questions
    if "-" in questions and sys.stdin.isatty():
        typer.echo("Type a question and press Enter; Ctrl-D ends.", err=True)
    pipeline = create_pipeline(settings, with_orders=True)
    refused = 0
    for question in _asked(questions):
        try:
            _answer_one(pipeline, question, as_json, several)
        except QuestionError as error:  # one line of standard input: say so and go on with the next
            typer.echo(f"Error: {error}", err=True)
            refused += 1
    if refused:
        raise typer.Exit(1)


def _asked(arguments: list[str]) -> Iterator[str]:
    """The questions in order, a `-` replaced by the lines of standard input as they come."""
    for argument in arguments:
        if argument != "-":
            yield argument
            continue
        for line in iter(sys.stdin.readline, ""):  # a line at a time, so a terminal gets each answer at once
            if line.strip():
                yield line.strip()


def _answer_one(pipeline: Pipeline, question: str, as_json: bool, several: bool) -> None:
    """Stream one answer, then its sources (or print it as JSON)."""
    answer: Answer | None = None
    streamed = ""
    if several and not as_json:
        typer.echo(f"> {question}")
    for item in pipeline.stream(question):
        if isinstance(item, Answer):
            answer = item
        elif not as_json:
            streamed += item
            typer.echo(item, nl=False)
    assert answer is not None
    if as_json:
        data = {key: value for key, value in answer.as_dict().items() if key != "timings"}
        if several:  # one object a line (JSON Lines), each saying which question it answers
            typer.echo(json.dumps({"question": question, **data}, ensure_ascii=False))
        else:
            _print_json(data)
        return
    typer.echo("")
    if answer.text != streamed.strip():
        # Citation markers were renumbered (or a cut-off sentence dropped): show the final text.
        typer.echo(f"\n{answer.text}")
    for number, passage in enumerate(answer.sources, 1):
        typer.echo(f"[{number}] {passage.title} ({passage.id}, score {passage.score:.2f})")
    if answer.escalate:
        typer.echo(f"(escalated: {answer.reason})")
    if several:
        typer.echo("")


@app.command("eval")
def eval_command(
    questions: Annotated[Path, typer.Option("--questions", help="Eval set (JSONL: question, expected, answerable, reference, history).")],
    index: IndexDir = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Retrieve and decide only; do not load the decoder or write answers.")
    ] = False,
    as_json: AsJson = False,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Write a markdown report there, with .json (every case) and .svg beside it.")
    ] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Measure retrieval, abstention and answers on an eval set."""
    from tqdm import tqdm

    from chatbot.evaluation.harness import read_eval_cases, run_eval, summarize
    from chatbot.evaluation.report import write_report
    from chatbot.service import create_pipeline

    settings = _settings(settings_file, index_dir=index)
    cases = read_eval_cases(questions)  # fail fast, before loading the models
    pipeline = create_pipeline(settings, with_generator=not retrieval_only)
    progress = lambda items: tqdm(items, desc="eval", unit="question", file=sys.stderr)  # noqa: E731
    results = run_eval(pipeline, cases, retrieval_only, progress)
    metrics = summarize(results, retrieval_only)
    if out is not None:
        used = {name: getattr(settings, name) for name in REPORTED_SETTINGS}
        used["retrieval_only"] = retrieval_only
        for path in write_report(out, metrics, results, questions.name, {k: str(v) if isinstance(v, Path) else v for k, v in used.items()}):
            typer.echo(f"wrote {path}", err=True)
    if as_json:
        _print_json(metrics)
        return
    for key, value in metrics.items():
        typer.echo(f"{key:>24}  {value}")


@app.command()
def calibrate(
    questions: Annotated[Path, typer.Option("--questions", help="Labelled questions (the eval set format); follow-ups are skipped.")],
    answer_rate: Annotated[
        float, typer.Option("--answer-rate", min=0.0, max=1.0, help="Share of answerable questions to answer.")
    ] = 0.9,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds for the reported figures.")] = 5,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write a markdown report there, with the trade-off curves (.svg).")] = None,
    index: IndexDir = None,
    settings_file: SettingsFile = None,
) -> None:
    """Fit the answer-or-escalate model on labelled questions and save it beside the index.

    Prints cross-validated figures (each question scored by a model fitted without it) next to
    the plain cosine threshold's; from then on the pipeline escalates below the chosen threshold.
    """
    from chatbot.answer.guardrails import remove_instructions
    from chatbot.evaluation.harness import read_eval_cases
    from chatbot.service import calibrate_abstention

    settings = _settings(settings_file, index_dir=index)
    cases = [c for c in read_eval_cases(questions) if not c.history]
    if len({c.answerable for c in cases}) < 2:
        raise EvalSetError(f"{questions} needs answerable and unanswerable questions to calibrate on.")
    figures, curves = calibrate_abstention(settings, [remove_instructions(c.question) or c.question for c in cases],
                                           [c.answerable for c in cases], answer_rate, folds)
    if out is not None:
        from chatbot.evaluation.report import write_calibration_report

        for path in write_calibration_report(out, figures, curves["model"], curves["cosine"]):
            typer.echo(f"wrote {path}", err=True)
    _print_json(figures)


@app.command("tune-embedder")
def tune_embedder_command(
    questions: Annotated[Path, typer.Option("--questions", help="Labelled customer messages (the eval set format).")],
    out: Annotated[Path, typer.Option("--out", help="A new folder for the tuned embedder.")],
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the messages.")] = 3,
    learning_rate: Annotated[float, typer.Option("--learning-rate", min=0.0, help="AdamW step size.")] = 2e-5,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same messages: same weights.")] = 0,
    kb: Annotated[Optional[Path], typer.Option("--kb", help="Knowledge base folder.")] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Tune the settings' embedder on the store's own labelled messages, each pulled towards the
    document it should bring up; then set `embedder` to --out and rebuild the index."""
    from tqdm import tqdm

    from chatbot.evaluation.harness import read_eval_cases
    from chatbot.evaluation.tuning import tune_embedder
    from chatbot.knowledge.ingest import read_knowledge_base

    settings = _settings(settings_file, kb_dir=kb)
    passages = read_knowledge_base(settings.kb_dir, settings.passage_chars).passages
    with tqdm(desc="tuning", unit="batch", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = tune_embedder(settings.embedder, read_eval_cases(questions), passages, out, epochs, learning_rate,
                               seed=seed, progress=progress)
    for message in report.unmatched:
        typer.echo(f"skipped (its expected document is not in {settings.kb_dir}): {message[:80]}", err=True)
    typer.echo(
        f"Tuned {settings.embedder} on {report.pairs} messages for {report.documents} documents "
        f"({report.epochs} epochs, {report.seconds:.0f}s) into {out}. "
        f'Set embedder = "{out}" (or CHATBOT_EMBEDDER) and run build-index.'
    )


@app.command("answer-tickets")
def answer_tickets_command(
    tickets: Annotated[Path, typer.Argument(help="Helpdesk export: .csv or .jsonl, optionally .gz.")],
    out: Annotated[Path, typer.Option("--out", help="Output: .jsonl, or .csv; one row per ticket.")],
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted run: skip the tickets already in --out.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Answer at most N tickets this run.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Tickets the decoder answers together.")] = 32,
    engine: Annotated[
        str, typer.Option("--engine", help="local: this process; ray: a Ray Data job (pip install -e '.[ray]').")
    ] = "local",
    actors: Annotated[int, typer.Option("--actors", min=1, help="With --engine ray: model copies working at once.")] = 1,
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="The ticket id column (found by name otherwise).")] = None,
    text_columns: Annotated[
        Optional[str], typer.Option("--text-columns", help="Comma-separated columns to answer from (default: subject and body).")
    ] = None,
    index: IndexDir = None,
    settings_file: SettingsFile = None,
) -> None:
    """Answer every ticket in an export with the chat's pipeline: cited answers and escalations."""
    from tqdm import tqdm

    from chatbot.service import create_ticket_answerer
    from chatbot.tickets.answering import Answerer, DeferredAnswerer, answer_tickets, finished_tickets
    from chatbot.tickets.reader import read_tickets
    from chatbot.tickets.report import write_batch_report

    if engine not in ("local", "ray"):
        raise SettingsError(f"--engine must be local or ray, not {engine!r}.")
    settings = _settings(settings_file, index_dir=index)
    columns = [c.strip() for c in text_columns.split(",")] if text_columns else None
    found = read_tickets(tickets, id_column, columns)  # fail fast, before loading the models
    finished = finished_tickets(out, resume)  # likewise: an existing --out without --resume, or one not ours
    if engine == "ray":
        from chatbot.tickets.ray_engine import RayAnswerer

        make: Callable[[], Answerer] = lambda: RayAnswerer(settings, create_ticket_answerer, batch_size, actors)  # noqa: E731
    else:
        make = lambda: create_ticket_answerer(settings, batch_size)  # noqa: E731
    progress = lambda total: tqdm(total=total, desc="tickets", unit="ticket", file=sys.stderr, disable=not total)  # noqa: E731
    # The models load only if some ticket is left: a finished --resume returns at once.
    summary = answer_tickets(DeferredAnswerer(make), found, out, resume, limit, progress, finished)
    if summary.skipped and not summary.done:
        typer.echo(f"Nothing left to answer: {out} has a row for every ticket; no model was loaded.", err=True)
    if summary.duplicates:
        typer.echo(f"duplicate ticket ids (later ones got an error row): {', '.join(summary.duplicates)}", err=True)
    report = write_batch_report(out, summary)
    _print_json({**summary.as_dict(), "report": str(report[0])})


@app.command("seed-orders")
def seed_orders_command(
    count: Annotated[int, typer.Option("--count", min=1, help="How many demo orders.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives the same orders).")] = 7,
    settings_file: SettingsFile = None,
) -> None:
    """Fill an empty order store (the `orders_url` setting) with demo orders in every status."""
    from chatbot.orders.store import open_order_store

    settings = _settings(settings_file)
    if not settings.orders_url:
        raise SettingsError("orders_url is empty: set it to a database URL (e.g. sqlite:///data/orders.db).")
    with open_order_store(settings.orders_url) as store:
        written = store.seed_demo(count, seed)
        counts = store.status_counts()
    typer.echo(f"Seeded {written} demo orders into {settings.orders_url}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("staff-account")
def staff_account_command(
    name: Annotated[str, typer.Argument(help="The staff member's sign-in name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Print a `name:hash` line for the assist panel's `staff_accounts` setting (or the
    CHATBOT_STAFF_ACCOUNTS variable; join several with commas). The password is asked for and
    only its salted hash is printed."""
    import getpass

    from chatbot.support.staff import new_account

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise SettingsError("The passwords differ; nothing was printed.")
    typer.echo(new_account(name, password))


def _support_log(settings_file: Path | None):  # noqa: ANN202 (SupportLog; SQLAlchemy is imported lazily)
    from chatbot.support.log import open_support_log

    settings = _settings(settings_file)
    if not settings.support_log_url:
        raise SettingsError("support_log_url is empty: nothing is logged. Set it to a database URL (e.g. sqlite:///data/support.db).")
    return open_support_log(settings.support_log_url)


@app.command("export-log")
def export_log_command(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv or .jsonl.")],
    what: Annotated[str, typer.Option("--what", help="conversations (one row per answer, with its feedback) or drafts.")] = "conversations",
    since: Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Last day, YYYY-MM-DD.")] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Export the support log (already redacted) as CSV or JSONL."""
    from chatbot.support.analytics import parse_day
    from chatbot.support.export import export

    if what not in ("conversations", "drafts"):
        raise SettingsError(f"--what is conversations or drafts, not {what!r}.")
    with _support_log(settings_file) as log:
        count = export(log, what, out, parse_day(since, "--since"), parse_day(until, "--until"))
    typer.echo(f"Wrote {count} {what} rows to {out}.")


@app.command("eval-cases")
def eval_cases_command(
    out: Annotated[Path, typer.Option("--out", help="Eval set to add to (JSONL).")] = Path("evals/from_feedback.jsonl"),
    settings_file: SettingsFile = None,
) -> None:
    """Add eval cases made from agents' edited drafts and shoppers' thumbs-down answers to --out
    (each once; thumbs-down cases are marked "review": true until a person checks them)."""
    from chatbot.support.export import add_eval_cases, eval_cases

    with _support_log(settings_file) as log:
        cases = eval_cases(log)
    added = add_eval_cases(cases, out)
    typer.echo(f"Added {added} new eval cases to {out} ({len(cases) - added} were there already).")


@app.command("prune-log")
def prune_log_command(
    days: Annotated[Optional[int], typer.Option("--days", min=1, help="Keep this many days (default: retention_days).")] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Delete conversations (and drafts) older than --days or the `retention_days` setting."""
    keep = days or _settings(settings_file).retention_days
    if keep <= 0:
        raise SettingsError("Give --days N, or set retention_days: nothing is deleted by default.")
    with _support_log(settings_file) as log:
        deleted = log.delete_older_than(keep)
    typer.echo(f"Deleted {deleted} conversations older than {keep} days.")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default 7860).")] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Serve the shopper chat at / and, with staff accounts, the agent-assist panel at /assist/ (as app.py does)."""
    from chatbot.web.server import serve as serve_web

    serve_web(str(settings_file) if settings_file else None, host, port)


@app.command("serve-openai")
def serve_openai_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
    settings_file: SettingsFile = None,
) -> None:
    """Serve the configured transformers model as an OpenAI-compatible endpoint at
    http://HOST:PORT/v1 (chat completions, streamed or whole), under the name in `model`;
    requests at the same time share one running batch, and beyond `max_waiting` get a 429."""
    import uvicorn

    from chatbot.llm.openai_server import create_openai_app
    from chatbot.openmp import release_pool
    from chatbot.service import concurrent_generator, load_transformers

    settings = _settings(settings_file)
    # Requests at the same time are written in one batch, on its own thread (openmp.py).
    generator = concurrent_generator(settings, load_transformers(settings))
    release_pool()
    typer.echo(f"Serving {settings.model} at http://{host}:{port}/v1", err=True)
    uvicorn.run(create_openai_app(generator, settings.model), host=host, port=port, log_level="warning")


@app.command("eval-triage")
def eval_triage_command(
    tickets: Annotated[Path, typer.Option("--tickets", help="Hand-labelled tickets (JSONL: text, intent, sentiment, urgency, language).")] = Path(
        "evals/triage.jsonl"
    ),
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the scores with confusion counts (JSON).")] = None,
    settings_file: SettingsFile = None,
) -> None:
    """Score answer-tickets' triage (intent, sentiment, urgency, language) against hand labels."""
    from chatbot.service import load_embedder, load_language_embedder
    from chatbot.support.triage import TRIAGE_FILE, TicketTriage, read_labelled_tickets, score_triage

    settings = _settings(settings_file)
    rows = read_labelled_tickets(tickets)
    triage = TicketTriage(load_embedder(settings), settings.triage_file or TRIAGE_FILE,
                          language_embedder=load_language_embedder(settings))
    scores = score_triage(triage.classify([r["text"] for r in rows]), rows)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"tickets": len(rows), **scores}, indent=2) + "\n", encoding="utf-8")
    _print_json({"tickets": len(rows), **{f: {k: v[k] for k in ("accuracy", "macro_f1")} for f, v in scores.items()}})


@app.command("import-abcd")
def import_abcd_command(
    source: Annotated[Optional[Path], typer.Option("--source", help="ABCD's guidelines.json.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for kb/ and settings.toml.")] = Path("data/abcd"),
) -> None:
    """Turn the ABCD store guidelines into a knowledge base: one document per subflow, "Flow / Subflow"."""
    from chatbot.evaluation.abcd import DEFAULT_SOURCE, import_abcd

    result = import_abcd(source or DEFAULT_SOURCE, out)
    typer.echo(f"Wrote {result.documents} procedures to {result.kb_dir}, settings to {result.settings_path}.")


@app.command("import-wixqa")
def import_wixqa_command(
    source: Annotated[Optional[Path], typer.Option("--source", help="The WixQA sample JSONL.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for kb/, questions.jsonl and settings.toml.")] = Path("data/wixqa"),
    holdout: Annotated[
        int, typer.Option("--holdout", min=0, help="Leave N questions' articles out of the KB; those become unanswerable.")
    ] = 0,
    leave_out_every: Annotated[
        int,
        typer.Option(
            "--leave-out-every", min=0, help="Leave every K-th article (by id) out; questions left with none are unanswerable."
        ),
    ] = 0,
) -> None:
    """Turn the public WixQA sample into a knowledge base and an eval set (see the README's Evals)."""
    from chatbot.evaluation.wixqa import DEFAULT_SOURCE, import_wixqa

    result = import_wixqa(source or DEFAULT_SOURCE, out, holdout, leave_out_every)
    typer.echo(
        f"Wrote {result.articles} articles to {result.kb_dir}, {result.questions} questions "
        f"({result.held_out} unanswerable) to {result.questions_path}, settings to {result.settings_path}."
    )


REPORTED_SETTINGS = (
    "index_dir", "embedder", "model", "retrieval", "fusion", "dense_weight", "title_weight", "document_weight",
    "passages_per_doc", "reranker", "rerank_candidates", "condense", "top_k", "prompt_passages", "min_score",
    "follow_up_min_score",
)


def main() -> None:
    # Start-up's progress lines ("loading the embedder ...: 2.1 s", service.py) go to standard
    # error, as do warnings; other libraries' chatter stays below warnings.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("chatbot").setLevel(logging.INFO)
    try:
        app()
    except ChatbotError as error:
        typer.echo(f"Error: {error}", err=True)
        sys.exit(1)
