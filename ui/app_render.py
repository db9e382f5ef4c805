"""Pure rendering helpers for the Gradio chat: proofs as readable chains, trace rows, subgraph pictures."""
from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.messages import Triple

Labeler = Callable[[Any], str]

TRACE_HEADERS = ["agent", "input", "output", "ms", "status"]
_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>#|$~"})


def md_text(text: Any, keep_lines: bool = False) -> str:
    """Text (a graph label, a reply naming labels) as literal Markdown: emphasis, links, HTML and `$` math
    stay plain characters; a label's line breaks become spaces unless `keep_lines`."""
    text = str(text) if keep_lines else " ".join(str(text).split())
    return text.translate(_MARKDOWN_SPECIALS)


def plot_text(text: Any) -> str:
    """A graph label for a matplotlib picture: `$` is escaped so no label is parsed as mathtext."""
    return str(text).replace("$", "\\$")


def proof_chain(proof: Sequence[Triple], label: Labeler) -> str:
    """One proof as `A —directed by→ B —starred actors→ C` (a triple chain read left to right)."""
    if not proof:
        return ""
    parts: list[str] = []
    for s, p, o in proof:
        line = f"**{md_text(label(s))}** —{md_text(label(p))}→ **{md_text(label(o))}**"
        parts.append(line)
    return " ; ".join(parts)


def answers_markdown(answers: Sequence[Any], label: Labeler, max_answers: int = 10, max_proofs: int = 2) -> str:
    """Markdown list of answers, each followed by up to `max_proofs` proof chains."""
    lines: list[str] = []
    for answer in list(answers)[:max_answers]:
        score = getattr(answer, "score", None)
        head = f"- **{md_text(answer.label)}**" + (f" (score {score:.2f})" if isinstance(score, (int, float)) else "")
        lines.append(head)
        for proof in list(getattr(answer, "proofs", []) or [])[:max_proofs]:
            lines.append(f"  - proof: {proof_chain(proof, label)}")
        if getattr(answer, "conditions", None):
            lines.append(f"  - and: {proof_chain(answer.conditions, label)}")
    if len(answers) > max_answers:
        lines.append(f"- … and {len(answers) - max_answers} more")
    return "\n".join(lines)


def trace_rows(trace: Iterable[Any]) -> list[list[Any]]:
    """StepRecords as table rows: agent, what it got, what it did, milliseconds, status."""
    rows = []
    for step in trace:
        rows.append([
            str(getattr(step, "agent", "")),
            _short(getattr(step, "input_summary", "")),
            _short(getattr(step, "output_summary", "")),
            round(float(getattr(step, "ms", 0.0) or 0.0), 1),
            str(getattr(step, "status", "")),
        ])
    return rows


def proof_triples(answers: Sequence[Any], max_answers: int = 8, max_proofs: int = 2) -> list[Triple]:
    """The distinct triples of the first proofs of the first answers, in order."""
    seen: dict[Triple, None] = {}
    for answer in list(answers)[:max_answers]:
        for proof in [*list(getattr(answer, "proofs", []) or [])[:max_proofs], getattr(answer, "conditions", [])]:
            for triple in proof:
                seen.setdefault(tuple(triple), None)
    return list(seen)


def subgraph_png(triples: Sequence[Triple], label: Labeler, highlight: Iterable[Any] = (),
                 width: float = 7.0, height: float = 4.5) -> bytes | None:
    """Draw the triples as a directed graph (networkx layout, matplotlib Agg) and return PNG bytes.

    Nodes in `highlight` (the answers) are drawn in a second colour. Returns None when there is nothing to draw."""
    if not triples:
        return None
    import networkx as nx
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    graph = nx.MultiDiGraph()
    for s, p, o in triples:
        graph.add_edge(s, o, label=plot_text(label(p)))
    marked = set(highlight)
    pos = nx.spring_layout(graph, seed=0, k=1.2 / max(1, len(graph)) ** 0.5)
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.set_axis_off()
    colours = ["#f6c85f" if n in marked else "#9dd9f3" for n in graph.nodes]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colours, node_size=900, edgecolors="#335")
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=True, arrowsize=14, node_size=900, edge_color="#556")
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8,
                            labels={n: plot_text(textwrap.fill(label(n), 18)) for n in graph.nodes})
    edge_labels = {(s, o): d["label"] for s, o, d in graph.edges(data=True)}
    nx.draw_networkx_edge_labels(graph, pos, ax=ax, edge_labels=edge_labels, font_size=7, font_color="#a33")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _short(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
