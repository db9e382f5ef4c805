"""The Gradio app: Chat (streamed agent steps, answers with proofs, trace, subgraph picture), Knowledge
(load graphs and documents), Finetune (background retraining). Named API endpoints for gradio_client."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gradio import Request  # a handler's `request: Request` is the caller's (gradio resolves the hint at run time)

from ui.app_render import (TRACE_HEADERS, answer_details, chain_start, proof_chain, proof_triples, reply_markdown,
                           subgraph_svg, trace_rows)
from agents.chat_service import (DOCUMENT_SUFFIXES, GRAPH_SUFFIXES, TRAIN_SUFFIXES, ChatService, Refused,
                                 ServeOptions, StepEvent, TurnEvent, remove_files)

__all__ = ["ServeOptions", "ChatService", "build_app", "launch"]

CSS = "#answer {min-height: 3em} footer {display: none !important}"
#: what a reader sees instead of the buttons that change the graph or the models
READER_NOTE = ("*You are signed in as a reader: you can ask and browse. Loading graphs and documents, "
               "training and switching models need an admin account.*")


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default theme would fetch web fonts, and the app must work offline.
    return gr.themes.Soft(font=("ui-sans-serif", "system-ui", "sans-serif"),
                          font_mono=("ui-monospace", "monospace"))


def _subgraph(service: ChatService, result: Any, max_answers: int = 8) -> str:
    """The answers' proofs drawn as an SVG (topic, hops, answers), each answer's proof on hover."""
    answers = list(result.answers)
    if not answers:
        return ""
    label = service.label
    topic = chain_start(answers[0].proofs[0], answers[0].iri) if answers[0].proofs else None
    hover = {a.iri: "\n".join(proof_chain(p, label).replace("**", "") for p in a.proofs[:2])
             for a in answers[:max_answers]}
    return subgraph_svg(proof_triples(answers, max_answers=max_answers), label, topic=topic,
                        answers=[a.iri for a in answers], hover=hover, total_answers=len(answers))


def turn_payload(service: ChatService, result: Any) -> dict[str, Any]:
    """A finished turn as plain JSON (the `ask` API endpoint's answer)."""
    label = service.label
    return {
        "question": result.question,
        "reply": result.reply,
        "found": bool(result.found),
        "answers": [a.to_dict(label) for a in result.answers],  # label, iri, score, proofs, conditions
        "trace": [dict(zip(TRACE_HEADERS, row)) for row in trace_rows(result.trace)],
    }


def _graph_summary(service: ChatService) -> tuple[str, list[list[Any]], list[list[str]]]:
    stats = service.stats()
    text = (f"**{stats.triples:,} triples** · {stats.entities:,} entities · {len(stats.properties):,} relations · "
            f"{len(stats.classes):,} classes ({', '.join(list(stats.classes)[:12])}{', …' if len(stats.classes) > 12 else ''})")
    props = [[p.label, str(p.iri), p.count, ", ".join(p.subject_roles), ", ".join(p.object_roles)]
             for p in service.properties()]
    triples = [list(t) for t in service.sample_triples()]
    return text, props, triples


def build_app(service: ChatService, examples: list[str] | None = None) -> Any:
    """The Blocks app for `service` (not launched)."""
    import gradio as gr

    examples = service.examples() if examples is None else examples
    with gr.Blocks(title="kgreason", analytics_enabled=False) as demo:
        session = gr.State(None)
        gr.Markdown("## kgreason — ask your knowledge graph, get answers with proofs")
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(label="Conversation", show_label=False, height=380, elem_id="chatbot")
            with gr.Row():
                question = gr.Textbox(placeholder="Ask a question, e.g. " + (examples[0] if examples else "…"),
                                      show_label=False, scale=6, elem_id="question", max_length=1000)
                ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                new_button = gr.Button("New conversation", scale=1)
            example_box = gr.Examples(examples=[[e] for e in examples], inputs=[question], label="Example questions",
                                      elem_id="examples")
            answer = gr.Markdown(elem_id="answer")
            index_info = gr.Markdown(service.status_markdown, elem_id="index-status")  # as of each page load
            index_timer = gr.Timer(3.0)
            with gr.Accordion("Trace (agent, what it did, ms)", open=False):
                trace = gr.Dataframe(headers=TRACE_HEADERS, interactive=False, wrap=True, elem_id="trace",
                                     column_widths=["11%", "24%", "49%", "8%", "8%"])
            picture = gr.HTML(elem_id="subgraph", padding=True)

        with gr.Tab("Knowledge"):
            summary = gr.Markdown(elem_id="graph-summary")
            with gr.Row():
                graph_files = gr.File(label="Graph files (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, "
                                      "s|p|o text)", file_count="multiple", file_types=list(GRAPH_SUFFIXES),
                                      elem_id="graph-files")
                doc_files = gr.File(label="Documents to ingest (plain text)", file_count="multiple",
                                    file_types=list(DOCUMENT_SUFFIXES), elem_id="doc-files")
            graph_path = gr.Textbox(label="…or a graph file path in the server's data folder",
                                    placeholder="graph.ttl", visible=service.options.data_dir is not None,
                                    elem_id="graph-path")
            with gr.Row():
                load_button = gr.Button("Load graph files", variant="primary", elem_id="load-graph")
                ingest_button = gr.Button("Ingest documents", elem_id="ingest")
            knowledge_note = gr.Markdown(visible=False, elem_id="knowledge-reader-note")
            load_status = gr.Markdown(elem_id="load-status")
            with gr.Accordion("Relations", open=True):
                relations = gr.Dataframe(headers=["relation", "iri", "triples", "subject role", "object role"],
                                         interactive=False, wrap=True)
            with gr.Accordion("Some triples", open=False):
                triples = gr.Dataframe(headers=["subject", "relation", "object"], interactive=False, wrap=True)

        with gr.Tab("Finetune"):
            gr.Markdown("Retrain an extractor on your own files. Training runs in the background; the chat "
                        "keeps answering with the current model until you switch.")
            with gr.Row():
                task = gr.Radio(["ner", "questions"], value="questions", label="Model")
                epochs = gr.Slider(1, 20, value=2, step=1, label="Epochs")
            with gr.Row():
                train_file = gr.File(label="Training file (CoNLL/JSONL for NER; MetaQA-style questions)",
                                     file_types=list(TRAIN_SUFFIXES), elem_id="train-file")
                dev_file = gr.File(label="Dev file", file_types=list(TRAIN_SUFFIXES), elem_id="dev-file")
            with gr.Row():
                train_qtypes = gr.File(label="Training path labels (questions only: one qtype a line)",
                                       file_types=[".txt"], elem_id="train-qtypes")
                dev_qtypes = gr.File(label="Dev path labels (questions only)", file_types=[".txt"],
                                     elem_id="dev-qtypes")
            with gr.Row():
                train_button = gr.Button("Start training", variant="primary", elem_id="start-training")
                switch_button = gr.Button("Use the new model", elem_id="use-model")
                cancel_button = gr.Button("Cancel training", variant="stop", elem_id="cancel-training")
            finetune_note = gr.Markdown(visible=False, elem_id="finetune-reader-note")
            active = gr.Markdown(lambda: _active_text(service), elem_id="active-models")
            progress = gr.HTML(_progress_html(0.0), elem_id="train-progress")
            train_message = gr.Markdown(elem_id="train-message")  # what the last button did (stays)
            train_info = gr.Markdown(elem_id="train-status")  # the job, refreshed every 2 s
            confirm = gr.State(None)  # the weak model's folder a second "Use the new model" switches to
            metrics = gr.Dataframe(headers=["epoch"], interactive=False, elem_id="train-metrics")
            timer = gr.Timer(2.0)

        # -- handlers --------------------------------------------------------------------------------
        def admin_only(request: Request | None) -> None:
            """Every changing handler calls this first: the role is checked here, on the server."""
            try:
                service.require_admin(getattr(request, "username", None))
            except Refused as exc:
                raise gr.Error(str(exc)) from None

        admin_controls = [graph_files, doc_files, load_button, ingest_button, train_file, dev_file,
                          train_qtypes, dev_qtypes, train_button, switch_button, cancel_button]

        def controls(request: Request | None = None) -> list[Any]:
            """On each page load: a reader sees no admin-only uploads and buttons, and a line saying why (the
            server refuses those calls for readers anyway)."""
            shown = service.is_admin(getattr(request, "username", None))
            note = gr.update(visible=not shown, value=READER_NOTE)
            path = gr.update(visible=shown and service.options.data_dir is not None)
            return [gr.update(visible=shown) for _ in admin_controls] + [path, note, note]

        def chat(message: str, history: list[dict[str, Any]] | None, state: Any):
            history = list(history or [])
            message = (message or "").strip()
            if not message:
                yield history, "*Type a question first.*", gr.update(), gr.update(), state, ""
                return
            state = state if state is not None else service.new_session()
            try:
                service.check_question(message)
            except Refused as exc:
                history += [{"role": "user", "content": message[:200] + "…"}, {"role": "assistant", "content": str(exc)}]
                yield history, str(exc), [], "", state, ""
                return
            history.append({"role": "user", "content": message})
            steps: list[str] = []
            history.append({"role": "assistant", "content": "…",
                            "metadata": {"title": "Working", "status": "pending"}})
            yield history, "", [], "", state, ""
            result = None
            for event in service.ask(message, state):
                if isinstance(event, StepEvent):
                    step = event.step
                    steps.append(f"- **{step.agent}** {step.output_summary} ({step.ms:.0f} ms)")
                    history[-1] = {"role": "assistant", "content": "\n".join(steps),
                                   "metadata": {"title": f"Working: {step.agent}", "status": "pending"}}
                    yield history, gr.update(), gr.update(), gr.update(), state, ""
                elif isinstance(event, TurnEvent):
                    result = event.result
            total = sum(float(s.ms) for s in result.trace)
            history[-1] = {"role": "assistant", "content": "\n".join(steps) or "(no steps)",
                           "metadata": {"title": f"Agent steps ({len(result.trace)})", "status": "done",
                                        "duration": total / 1000.0}}
            history.append({"role": "assistant", "content": reply_markdown(result.reply)})
            yield (history, answer_details(result, service.label), trace_rows(result.trace),
                   _subgraph(service, result), state, "")

        def index_api() -> dict:
            """Where the retrieval index stands: state (idle, loading, building, ready, failed), done/total
            texts embedded, fraction, counts per kind, message."""
            status = service.index_status()
            return {"state": status.state, "done": status.done, "total": status.total,
                    "fraction": round(status.fraction, 4), "counts": dict(status.counts),
                    "message": status.message, "seconds": round(status.seconds, 1)}

        def adapt_api() -> dict:
            """Where background adaptation stands: state (idle, training, ready, failed, off), fraction,
            message, seconds, model (the folder the chat plans with once ready)."""
            return service.adapt_status().to_dict()

        def reset() -> tuple[list, str, list, str, None]:
            return [], "", [], "", None

        def ask_api(question: str, conversation: str = "", request: Request | None = None) -> dict:
            """Answer one question; `conversation` "" starts a new conversation, and the returned
            `conversation` id (issued by the server) asks follow-ups in it. Returns JSON."""
            try:
                result, key = service.answer(question or "", conversation or "",
                                             getattr(request, "username", None))
            except Refused as exc:
                raise gr.Error(str(exc)) from None
            payload = turn_payload(service, result)
            payload["conversation"] = key
            return payload

        def summarize():
            return _graph_summary(service)

        def load(files: list[str] | None, path: str, request: Request | None = None):
            admin_only(request)
            from knowledge.errors import InputError

            try:
                paths = [str(f) for f in files or []] + ([service.server_path(path)] if path and path.strip() else [])
                if not paths:
                    return ("**Nothing to load:** choose graph files or give a path.", gr.update(), gr.update(),
                            gr.update(), gr.update(), gr.update())
                report = service.load(paths)
            except InputError as exc:
                message = _without_upload_dirs(str(exc), files or [])
                return (f"**Load failed, graph unchanged.**\n\n`{message}`", gr.update(), gr.update(), gr.update(),
                        gr.update(), gr.update())
            finally:
                _delete_uploads(files)
            text, props, some = _graph_summary(service)
            return (f"**Loaded** {_report_text(report)}", text, props, some, None, example_samples())

        def example_samples():
            """The chat's example questions as they are now (a load adds questions about what it brought)."""
            return gr.Dataset(samples=[[e] for e in service.examples()])

        def ingest(files: list[str] | None, request: Request | None = None):
            admin_only(request)
            if not files:
                return "**Nothing to ingest:** choose documents.", gr.update()
            from knowledge.errors import InputError

            try:
                report = service.ingest([str(f) for f in files])
            except InputError as exc:
                return f"**Ingest failed, graph unchanged.**\n\n`{_without_upload_dirs(str(exc), files)}`", gr.update()
            finally:
                _delete_uploads(files)
            return f"**Ingested** {_report_text(report)}", _graph_summary(service)[0]

        def start_training(kind: str, train: str | None, dev: str | None, n: float, train_q: str | None,
                           dev_q: str | None, request: Request | None = None):
            admin_only(request)
            if not train or not dev:
                return "**Choose a training file and a dev file.**"
            uploads = [str(f) for f in (train, dev, train_q, dev_q) if f]
            if not all(Path(f).is_file() for f in uploads):  # a finished job deleted its uploaded copies
                return "**Choose the files again:** uploaded training files are deleted when a job ends."
            try:
                service.start_training(kind, str(train), str(dev), int(n), train_qtypes=train_q,
                                       dev_qtypes=dev_q, uploads=uploads)
            except (RuntimeError, ValueError) as exc:
                return f"**Could not start:** {exc}"
            return f"Training the {kind} model…"

        def poll():
            status = service.training_status()
            return _progress_html(status.fraction), _job_text(status), metrics_table(status.history)

        def cancel(request: Request | None = None):
            admin_only(request)
            return "**Cancelling the training job…**" if service.cancel_training() else "**No training job is running.**"

        def switch(pending: str | None, request: Request | None = None):
            admin_only(request)
            from agents.model_check import weak_metrics

            status = service.training_status()
            if status.state != "done" or not status.model_dir:
                return "**No finished model to switch to.** Train one first.", None, _active_text(service)
            weak = weak_metrics(status.task, status.history[-1][1] if status.history else {})
            if weak and pending != status.model_dir:
                return (f"**Warning:** the new {status.task} model scored low on the dev file: {'; '.join(weak)}. "
                        "The chat would answer worse with it. Click **Use the new model** again to switch "
                        "anyway.", status.model_dir, _active_text(service))
            service.activate(status.task, status.model_dir)
            return (f"**Switched:** the chat now answers with the new {status.task} model "
                    f"(`{Path(status.model_dir).name}`).", None, _active_text(service))

        chat_outputs = [chatbot, answer, trace, picture, session, question]
        ask_button.click(chat, [question, chatbot, session], chat_outputs, api_name="chat", concurrency_limit=8)
        question.submit(chat, [question, chatbot, session], chat_outputs, api_visibility="private",
                        concurrency_limit=8)
        new_button.click(reset, None, [chatbot, answer, trace, picture, session], api_visibility="private")
        gr.api(ask_api, api_name="ask", concurrency_limit=8)
        gr.api(index_api, api_name="index_status")
        gr.api(adapt_api, api_name="adapt_status")
        index_timer.tick(service.status_markdown, None, [index_info], api_visibility="private",
                         show_progress="hidden")
        demo.load(summarize, None, [summary, relations, triples], api_name="graph_summary")
        demo.load(controls, None, [*admin_controls, graph_path, knowledge_note, finetune_note],
                  api_visibility="private")
        demo.load(example_samples, None, [example_box.dataset], api_visibility="private")
        load_button.click(load, [graph_files, graph_path],
                          [load_status, summary, relations, triples, graph_files, example_box.dataset],
                          api_name="load_graph", concurrency_limit=1)
        ingest_button.click(ingest, [doc_files], [load_status, summary], api_name="ingest_documents",
                            concurrency_limit=1)
        train_button.click(start_training, [task, train_file, dev_file, epochs, train_qtypes, dev_qtypes],
                           [train_message], api_name="start_training")
        timer.tick(poll, None, [progress, train_info, metrics], api_name="training_status", show_progress="hidden")
        switch_button.click(switch, [confirm], [train_message, confirm, active], api_name="use_trained_model")
        cancel_button.click(cancel, None, [train_message], api_name="cancel_training")
    return demo


def _active_text(service: ChatService) -> str:
    models = service.active_models()
    return f"**The chat answers with:** question model: `{models['questions']}` · NER model: `{models['ner']}`"


def _job_text(status: Any) -> str:
    """One line about the training job ("" when none was started)."""
    if not status.task:
        return ""
    message = status.message.removeprefix(f"{status.state}: ").removeprefix(status.state).strip(" :.")
    what = {"running": f"training the {status.task} model", "done": f"the {status.task} model is trained",
            "failed": f"training the {status.task} model failed",
            "cancelled": f"training the {status.task} model was cancelled"}.get(status.state, status.state)
    return f"**{what[0].upper()}{what[1:]}**" + (f": {message}." if message else ".")


def metrics_table(history: Any) -> dict[str, list]:
    """A training job's dev metrics: one row per epoch, one column per metric (in the order reported)."""
    names = list(dict.fromkeys(k for _, m in history for k in m))
    rows = [[epoch] + [round(m[k], 4) if k in m else "" for k in names] for epoch, m in history]
    return {"headers": ["epoch", *names], "data": rows}


def _progress_html(fraction: float) -> str:
    pct = max(0.0, min(100.0, 100.0 * fraction))
    return (f'<div style="display:flex;gap:.6em;align-items:center"><progress max="100" value="{pct:.0f}" '
            f'style="flex:1;height:1.2em"></progress><span>{pct:.0f}%</span></div>')


def _without_upload_dirs(message: str, uploads: list[Any]) -> str:
    """Error text with Gradio's temporary upload folders cut off, so `broken.ttl:3:9` reads as the user's file."""
    for upload in uploads:
        message = message.replace(str(Path(str(upload)).parent) + os.sep, "")
    return message


def _delete_uploads(uploads: list[Any] | None) -> None:
    """Remove Gradio's temporary copies of uploaded files once they have been read (not the user's files)."""
    remove_files(str(upload) for upload in uploads or [])


def _report_text(report: Any) -> str:
    """A load/ingest report as one readable line (file names without upload folders)."""
    data = report.to_dict() if hasattr(report, "to_dict") else {"result": str(report)}
    parts = []
    for key, value in data.items():
        if key == "files" and isinstance(value, list):
            value = ", ".join(Path(str(v)).name for v in value)
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int):
            value = f"{value:,}"
        elif isinstance(value, float):  # 52,141 triples per second; 0.00114 s -> 0.00114
            value = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return " · ".join(parts)


def launch(options: ServeOptions, *, block: bool = True) -> Any:
    """Serve the page first, then warm the service up (graph, view, models) while it already answers;
    the retrieval index is then opened or built in the background."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    service = ChatService(options)
    demo = build_app(service, service.examples())  # cached examples: no graph needed yet (warm starts)
    demo.queue(default_concurrency_limit=4)
    access = service.access
    demo.launch(server_name=options.host, server_port=options.port, share=False,
                auth=access.login if access.enabled else None,
                max_file_size=options.max_file_size, ssr_mode=False, show_error=False,
                prevent_thread_lock=True, quiet=False, theme=_theme(), css=CSS,
                footer_links=["api"], mcp_server=False)
    print(f"kgreason: serving on http://{options.host}:{options.port}; loading graph and models…", flush=True)
    try:
        service.warm_up()
    except BaseException:
        demo.close()
        raise
    print("kgreason: ready (the retrieval index loads or builds in the background)", flush=True)
    if block:
        demo.block_thread()
    return demo
