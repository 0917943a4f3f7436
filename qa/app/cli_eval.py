"""`qa eval` and `qa fit`: measuring answers against gold sets, and fitting the answer model."""

from __future__ import annotations

from pathlib import Path

import click

from qa.app.cli_common import library_options, answerer_options, open_for_commands, positive, settings_from_env
from qa.errors import QAError


@click.command(name="eval")
@click.option("--gold", type=click.Path(), default="evals/gold.jsonl", show_default=True, help="Gold questions (JSONL).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True)
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid", "all"]), default=None, help="Retrieval mode; 'all' sweeps modes and k (default: hybrid).")
@click.option("-k", type=int, default=None, callback=positive, help="Passages considered (default: settings; a sweep tries 3, 5, 8, 10).")
@click.option("--out", type=click.Path(), default=None, help="Run folder for report.json, report.md and plots (default: evals/runs/<time>/).")
@click.option("--compare", nargs=2, type=click.Path(), default=None, help="Compare two run folders instead of running.")
@click.option("--floors", type=click.Path(), default=None, help="JSON of metric floors; exit 1 when a metric falls below its floor.")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--suite", "suite_file", type=click.Path(), default=None, help="Run the development suite in this file (evals/suite.json) instead of one gold set.")
@click.option("--corpus", "corpus_names", multiple=True, help="With --suite: only this corpus (repeatable); with --held-out, only this library held out.")
@click.option("--held-out", is_flag=True, help="With --suite: fit the answer model without each library in turn and score its test split (make eval-held-out).")
@click.option("--without", default="", help="With --held-out: signals left out of every fit (comma-separated), for an ablation held out.")
@click.option("--folds", type=click.Choice(["question", "library"]), default="question", show_default=True,
              help="With --held-out: the fits' cross-validation folds, by question or a library per fold.")
@click.option("--in-sample/--no-in-sample", default=True, show_default=True,
              help="With --held-out: also fit on every library and score each library in sample (about 7 minutes more).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@answerer_options
@library_options
def evaluate(gold, split, mode, k, out, compare, floors, index, suite_file, corpus_names, held_out, without, folds, in_sample, quiet, answerer, unsupported):
    """Score answers against the gold set: retrieval, key facts, citations, abstention, latency.

    \b
    Examples:
      qa eval --split test
      qa eval --mode all --split dev
      qa eval --compare evals/runs/A evals/runs/B
      qa eval --suite evals/suite.json            # every corpus of the development suite
      qa eval --suite evals/suite.json --corpus medquad
      qa eval --suite evals/suite.json --held-out   # each library scored by a fit without it
      qa eval --suite evals/suite.json --held-out --corpus medquad --folds library
      qa eval --suite evals/suite.json --held-out --corpus squad2 --without word-list --no-in-sample
      qa eval --answerer llm --split test        # the LLM beside the extractive answerer, same questions
    """
    from qa.eval import report as eval_report
    from qa.eval.runs import enforce_floors, run_gold_evaluation

    if compare:
        click.echo(eval_report.compare(*compare))
        return
    if suite_file:
        if answerer == "llm":
            raise QAError("--answerer llm runs one gold set (the LLM beside the extractive answerer); drop --suite.")
        if held_out:
            _run_held_out(suite_file, _signals(without), corpus_names, folds, in_sample, out, quiet)
        else:
            _run_suite(suite_file, corpus_names, mode, k, out, quiet)
        return
    if held_out:
        raise QAError("--held-out scores the libraries of a suite; add --suite evals/suite.json.")
    pipeline = open_for_commands(index, answerer=answerer, unsupported=unsupported)
    run = run_gold_evaluation(pipeline, gold, split, mode, k, out, llm=answerer == "llm", progress=not quiet)
    if run.swept:
        click.echo(f"Best configuration on dev: {run.chosen}")
    for metric in eval_report.HEADLINE:
        click.echo(f"{metric:34} {eval_report.fmt(run.summary.get(metric))}")
    click.echo(f"Report: {run.folder}/report.md (and report.json, recall_at_k.png, latency.png, key_facts_per_document.png)")
    if floors:
        checked = enforce_floors(run.summary, floors)
        click.echo(f"All {checked} gated metrics are within their limits in {floors}.")


@click.command()
@click.option("--suite", "suite_file", type=click.Path(), default="evals/suite.json", show_default=True, help="The development suite whose dev splits the model is fitted on.")
@click.option("--out", type=click.Path(), default=None, help="Where to write the model (default: qa/answer/model.json, the one the answerer uses).")
@click.option("--without", default="", help="Comma-separated signals to leave out (for an ablation).")
@click.option("--ablation", "ablation_out", type=click.Path(), default=None, help="Instead of writing the model: fit each variant and write the ablation table (Markdown) here.")
@click.option("--folds", type=click.Choice(["question", "library"]), default="question", show_default=True,
              help="Cross-validation folds for the ranker's size, the decline threshold and the reader's weight: by question, or a library per fold.")
@click.option("--reader-only", is_flag=True, help="Refit only what depends on the readers (the reader's weight beside the ranker, the verdict threshold) on the libraries the model was fitted on, keeping the model file's ranker, decline model and threshold: after make train-reader or make train-verdict-reader.")
@click.option("--statements-only", is_flag=True, help="Choose only the statement rule (how close a further statement must score) again for the model file as it is, on the libraries it was fitted on.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def fit(suite_file, out, without, folds, ablation_out, reader_only, statements_only, quiet):
    """Fit the answer model (which sentences answer, and when to decline) on the suite's dev splits.

    \b
    Example:
      qa fit                       # make fit: writes qa/answer/model.json
      qa fit --without summary,title_question --out /tmp/ablation.json
      qa fit --reader-only         # make fit-reader: after make train-reader
      qa fit --statements-only     # the statement rule alone, for the shipped model
    """
    from qa.answer.model import MODEL_FILE, write_answer_model
    from qa.eval.fit import fit_model
    from qa.eval.fit_data import collect_examples
    from qa.eval.suite import load_suite

    left_out = _signals(without)
    partial = "--reader-only" if reader_only else "--statements-only" if statements_only else None
    if partial and (left_out or ablation_out or (reader_only and statements_only)):
        raise QAError(f"{partial} refits one part of the shipped model as it is; leave out --without, --ablation and the other of --reader-only and --statements-only.")
    log = lambda line: click.echo(line, err=True)  # noqa: E731
    if ablation_out:
        from qa.eval.fit_report import ablation, ablation_markdown

        suite, settings = load_suite(suite_file), settings_from_env()
        examples = collect_examples(suite, settings, ("dev", "test"), progress=not quiet, log=log)
        uncorrected = collect_examples(suite, settings, ("dev", "test"), progress=not quiet, log=log, correct_spelling=False)
        Path(ablation_out).write_text(ablation_markdown(ablation(examples, uncorrected, log)))
        click.echo(f"Wrote the ablation table to {ablation_out}")
        return
    path = Path(out) if out else MODEL_FILE
    if partial:
        from qa.answer.model import load_answer_model
        from qa.eval.fit_reader import refit_reader_part, refit_statement_rule, the_models_libraries

        model = load_answer_model(MODEL_FILE)
        suite = the_models_libraries(load_suite(suite_file), model)
        refit = refit_reader_part if reader_only else refit_statement_rule
        fitted = refit(collect_examples(suite, settings_from_env(), ("dev",), progress=not quiet, log=log), model, log)
    else:
        examples = collect_examples(load_suite(suite_file), settings_from_env(), ("dev",), progress=not quiet, log=log)
        fitted = fit_model(examples, left_out, log, folds=folds)
    write_answer_model(fitted.model, path)
    click.echo(f"Wrote {path} (threshold {fitted.model.threshold:.4f}, keep_ratio {fitted.model.keep_ratio}, follow_ratio {fitted.model.follow_ratio}); dev:")
    for name, summary in fitted.dev.items():
        click.echo(f"  {name}: evidence cited {summary.get('evidence_cited')}, answerable declined {summary.get('false_abstention')} "
                   f"(typo'd {summary.get('typo.false_abstention')}), unanswerable declined {summary.get('abstention_recall')}, "
                   f"foreign declined {summary.get('cross_corpus_abstained')}")


@click.command(name="train-reader")
@click.option("--suite", "suite_file", type=click.Path(), default="evals/suite.json", show_default=True, help="The development suite whose dev splits give training pairs.")
@click.option("--out", type=click.Path(), default=None,
              help="Folder for reader.int8.onnx and reader.json (default: qa/answer/reader/, the one the answerer reads with; with --verdict-data, qa/answer/verdicts/).")
@click.option("--verdict-data", is_flag=True, help="Train on the yes/no verdict data too (qa/train/verdict_data.py): the verdict reader (make train-verdict-reader).")
@click.option("--cache", type=click.Path(), default="evals/cache/reader", show_default=True, help="Where the training pairs are written.")
@click.option("--epochs", type=float, default=1.5, show_default=True)
@click.option("--max-steps", type=int, default=0, help="Stop after this many batches (0: the whole of --epochs).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--student-layers", type=int, default=0, show_default=True, help="Ship a student of this many layers distilled from the trained reader (0: the reader itself).")
@click.option("--teacher", "teacher_weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from these weights (the cache's teacher.pt of an earlier run) instead of training: with --student-layers, teach a student from them; without, write them as the reader.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def train_reader(suite_file, out, verdict_data, cache, epochs, max_steps, seed, student_layers, teacher_weights, quiet):
    """Train the reader (a cross-encoder from the shipped MiniLM) and write it as int8 ONNX with its manifest.

    \b
    Example:
      qa train-reader                    # make train-reader: writes qa/answer/reader/
      qa train-reader --verdict-data     # make train-verdict-reader: writes qa/answer/verdicts/
      qa train-reader --max-steps 20 --out /tmp/reader
    """
    from qa.answer.reader import READER_DIR, VERDICT_READER_DIR
    from qa.train.reader_build import train_reader as build
    from qa.train.reader_net import TrainingSettings

    log = lambda line: click.echo(line, err=True)  # noqa: E731
    settings = TrainingSettings(epochs=epochs, max_steps=max_steps, seed=seed, student_layers=student_layers)
    folder = Path(out) if out else VERDICT_READER_DIR if verdict_data else READER_DIR
    manifest = build(folder, Path(suite_file), settings, Path(cache), run_settings=settings_from_env(), progress=not quiet, log=log,
                     teacher_weights=Path(teacher_weights) if teacher_weights else None, verdict_data=verdict_data)
    held = manifest["held_out"]["int8"]
    click.echo(f"Wrote {folder}/{manifest['file']} ({manifest['bytes'] / 1e6:.1f} MB, {manifest['training']['steps']} steps, "
               f"{manifest['built']['seconds'] / 60:.1f} min); held out: AUC {held['auc']}, answer first {held['answer_first']}, "
               f"span F1 {held['span_f1']}, verdicts {held['verdict_accuracy']}; int8 agreement {manifest['int8_agreement']}")


def _run_suite(suite_file: str, corpus_names: tuple[str, ...], mode: str | None, k: int | None, out: str | None, quiet: bool) -> None:
    from datetime import datetime, timezone

    from qa.eval.suite import load_suite, run_suite
    from qa.eval.suite_report import macro_average, write_suite_report

    if mode == "all":
        raise QAError("--mode all sweeps one gold set; with --suite pick one mode (dense, bm25 or hybrid).")
    suite = load_suite(suite_file)
    settings = settings_from_env(mode=mode, k=k)
    report = run_suite(suite, settings, tuple(corpus_names), progress=not quiet, log=lambda line: click.echo(line, err=True))
    folder = Path(out) if out else Path("evals") / "suite-runs" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = write_suite_report(folder, report)
    for split in ("dev", "test"):
        click.echo(f"macro average, {split}: " + ", ".join(f"{name} {value}" for name, value in macro_average(report, split).items()))
    click.echo(f"Report: {path} (and report.json, suite.png)")


def _signals(without: str) -> frozenset[str]:
    """The signals named by --without, checked."""
    from qa.answer.signals import QUESTION_SIGNALS, UNIT_SIGNALS
    from qa.eval.fit_report import SIGNAL_GROUPS

    named = frozenset(name.strip() for name in without.split(",") if name.strip())
    left_out = frozenset().union(*(SIGNAL_GROUPS.get(name, {name}) for name in named))
    unknown = sorted(left_out - set(UNIT_SIGNALS) - set(QUESTION_SIGNALS) - {"reader", "rank"})
    if unknown:
        raise QAError(
            f"--without names unknown signals {', '.join(unknown)}; the signals are {', '.join(UNIT_SIGNALS + QUESTION_SIGNALS)}, "
            f"the groups {', '.join(SIGNAL_GROUPS)}, and 'reader' (no reader at all) or 'rank' (the reader alone orders what it reads)."
        )
    return left_out


def _run_held_out(suite_file: str, without: frozenset[str], corpus_names: tuple[str, ...], folds: str, in_sample: bool, out: str | None, quiet: bool) -> None:
    import json
    from datetime import datetime, timezone

    from qa.eval.held_out import held_out_markdown, run_held_out
    from qa.eval.suite import load_suite
    from qa.files import write_atomically

    report = run_held_out(load_suite(suite_file), settings_from_env(), without, held=corpus_names, in_sample=in_sample, folds=folds, progress=not quiet, log=lambda line: click.echo(line, err=True))
    folder = Path(out) if out else Path("evals") / "held-out-runs" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "report.json", json.dumps(report, indent=1))
    write_atomically(folder / "report.md", "# Held out by library\n\n" + held_out_markdown(report))
    click.echo(held_out_markdown(report))
    click.echo(f"Report: {folder}/report.md (and report.json)")
