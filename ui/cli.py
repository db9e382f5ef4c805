"""The `kgreason` command line: a Typer app whose verbs only fill a config and call the library.

Each verb group lives in its own module (`ui/cli_*.py`) with its own Typer objects; this module composes them
explicitly (no registration by import side effect)."""
from __future__ import annotations

import typer

from ui import cli_ask, cli_finetune, cli_graph, cli_index, cli_serve

app = typer.Typer(name="kgreason", help="Question answering over your own knowledge graph, with proofs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
finetune_app = typer.Typer(help="Retrain the extractors (document NER, question model) on your data.", no_args_is_help=True)
evaluate_app = typer.Typer(help="Evaluate a model or the whole QA pipeline; prints and writes JSON.", no_args_is_help=True)
index_app = typer.Typer(help="Build and search the retrieval index over entities, facts and passages.", no_args_is_help=True)
app.add_typer(finetune_app, name="finetune")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(index_app, name="index")
for _verbs in (cli_graph.app, cli_index.app, cli_ask.app, cli_serve.app):
    app.add_typer(_verbs)  # unnamed: their commands join the top level
finetune_app.add_typer(cli_finetune.finetune_app)
evaluate_app.add_typer(cli_finetune.evaluate_app)
evaluate_app.add_typer(cli_ask.evaluate_app)
index_app.add_typer(cli_index.index_app)


def _quiet_offline() -> None:
    """No hub downloads, no weight-loading progress bars or deprecation chatter from the model libraries."""
    import os
    import warnings

    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\..*")


def main() -> None:
    """Run the CLI; any bad input a user can cause ends in one `error:` line and exit 2, never a traceback."""
    from ui.errors import USER_ERRORS, fail

    _quiet_offline()
    try:
        app(standalone_mode=True)
    except USER_ERRORS as exc:  # the last guard: verbs catch these themselves, naming file:line
        raise SystemExit(_exit_code(fail(_one_line(exc)))) from None
    except (UnicodeError, OSError) as exc:  # a file the verb could not read (its name is in the message)
        raise SystemExit(_exit_code(fail(f"{_one_line(exc)}"))) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _exit_code(exit: object) -> int:
    return int(getattr(exit, "exit_code", 2))


if __name__ == "__main__":  # `python -m ui.cli`: run the registered app of the imported module, not __main__'s
    from ui.cli import main as _main

    _main()
