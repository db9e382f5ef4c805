"""Pure rendering helpers for the Gradio chat: proofs as readable chains, trace rows, subgraph pictures."""
from __future__ import annotations

import html
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


def reply_markdown(reply: str) -> str:
    """The agents' reply for the conversation: its lines kept apart, indented proof lines as a list."""
    lines = []
    for line in reply.splitlines():
        if not line.strip():
            continue
        text = md_text(line.strip())
        lines.append(f"- {text}" if line.startswith("  ") else f"{text}\n")
    return "\n".join(lines)


def answer_details(result: Any, label: Labeler) -> str:
    """The answer panel under the chat: how the answers were found (topic, path, what the retriever found,
    time), then each answer with its proofs. The reply itself is in the conversation, not repeated here."""
    by_agent = {getattr(s, "agent", ""): s for s in getattr(result, "trace", [])}
    facts = by_agent.get("retriever")
    found = [(f"**{len(result.answers)} answer{'s' if len(result.answers) != 1 else ''}**" if result.answers
              else "**No answer**") + f" to “{md_text(result.question)}”"]
    if getattr(result, "topic", None):
        found.append(f"about {md_text(result.topic)}")
    if getattr(result, "path", None):
        found.append(f"path `{result.path}`")
    if facts is not None:
        found.append(f"retriever: {md_text(facts.output_summary)}" if facts.status == "ok" else f"retriever: {facts.status}")
    total = sum(float(getattr(s, "ms", 0.0) or 0.0) for s in getattr(result, "trace", []))
    found.append(f"{total:,.0f} ms")
    body = answers_markdown(result.answers, label)
    return " · ".join(found) + (f"\n\n{body}" if body else "")


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


#: node fills: the question's topic, the answers, the nodes on the way (and the legend's words for them)
NODE_COLOURS = {"topic": ("#5b21b6", "#ffffff"), "answer": ("#fbbf24", "#1f2937"), "path": ("#dbeafe", "#1e3a8a")}
EDGE_COLOURS = ("#dc2626", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563")


def chain_start(proof: Sequence[Triple], end: Any) -> Any:
    """The node a proof chain starts from (the topic), walking back from its answer `end`."""
    cur = end
    for s, _, o in reversed(list(proof)):
        cur = s if o == cur else o if s == cur else cur
    return cur


def subgraph_svg(triples: Sequence[Triple], label: Labeler, topic: Any = None, answers: Sequence[Any] = (),
                 hover: dict[Any, str] | None = None, total_answers: int | None = None, max_rows: int = 12) -> str:
    """The answer's subgraph as a self-contained SVG (no script, nothing fetched): the topic on the left, then
    one column per hop, answers in the last; names inside the boxes (full name and proof on hover), edges
    coloured by relation with a legend, and a note saying what was left out. "" when there is nothing to draw."""
    if not triples:
        return ""
    nodes: dict[Any, None] = {}
    neighbours: dict[Any, list[Any]] = {}
    for s, _, o in triples:
        nodes.setdefault(s, None)
        nodes.setdefault(o, None)
        neighbours.setdefault(s, []).append(o)
        neighbours.setdefault(o, []).append(s)
    start = topic if topic in nodes else next(iter(nodes))
    depth = {start: 0}
    queue = [start]
    for node in queue:  # breadth-first: a node's column is its distance from the topic
        for nxt in neighbours[node]:
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    far = max(depth.values()) + 1
    for node in nodes:
        depth.setdefault(node, far)
    columns: list[list[Any]] = [[] for _ in range(max(depth.values()) + 1)]
    rank = {a: i for i, a in enumerate(answers)}
    hidden = 0
    for k in range(len(columns)):
        members = [n for n in nodes if depth[n] == k]
        if k:  # under the nodes they hang from (fewer crossings), answers in their order
            row = {n: i for i, n in enumerate(columns[k - 1])}
            members.sort(key=lambda n: (min((row[m] for m in neighbours[n] if m in row), default=len(row)),
                                        rank.get(n, len(rank)), label(n)))
        hidden += max(0, len(members) - max_rows)
        columns[k] = members[:max_rows]
    drawn = {n for col in columns for n in col}

    box_w, box_h, gap_x, gap_y, pad, top = 200, 30, 150, 12, 16, 44
    height_rows = max(len(c) for c in columns)
    width = pad * 2 + len(columns) * box_w + (len(columns) - 1) * gap_x
    body_h = height_rows * (box_h + gap_y)
    pos: dict[Any, tuple[float, float]] = {}
    for k, col in enumerate(columns):
        x = pad + k * (box_w + gap_x)
        y0 = top + (body_h - len(col) * (box_h + gap_y)) / 2
        for i, n in enumerate(col):
            pos[n] = (x, y0 + i * (box_h + gap_y))

    props = list(dict.fromkeys(label(p) for _, p, _ in triples))
    colour = {p: EDGE_COLOURS[i % len(EDGE_COLOURS)] for i, p in enumerate(props)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {top + body_h + 60}" '
           f'width="{width}" style="max-width:100%;height:auto;font-family:ui-sans-serif,system-ui,sans-serif" '
           'role="img" aria-label="answer subgraph">',
           '<defs>' + "".join(f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                              f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                              f'fill="{c}"/></marker>' for i, c in enumerate(EDGE_COLOURS)) + '</defs>']
    # one relation between two columns: its name heads the gap ("directed by →")
    for k in range(len(columns) - 1):
        gap = {(label(p), depth[s] < depth[o]) for s, p, o in triples if {depth[s], depth[o]} == {k, k + 1}}
        if len(gap) == 1:
            (name, forward), = gap
            text = f"{name} →" if forward else f"← {name}"
            x = pad + k * (box_w + gap_x) + box_w + gap_x / 2
            out.append(f'<text x="{x:.0f}" y="{top - 18}" text-anchor="middle" font-size="12" '
                       f'fill="{colour[name]}" font-weight="600">{_esc(_fit(text, 24))}</text>')
    for s, p, o in triples:
        if s not in drawn or o not in drawn:
            continue
        (xs, ys), (xo, yo) = pos[s], pos[o]
        name = label(p)
        i = props.index(name) % len(EDGE_COLOURS)
        if depth[s] == depth[o]:  # same column: an arc on the right
            x = xs + box_w
            d = f"M{x},{ys + box_h / 2} C{x + 60},{ys + box_h / 2} {x + 60},{yo + box_h / 2} {x},{yo + box_h / 2}"
        else:
            left, right = ((xs, ys), (xo, yo)) if xs < xo else ((xo, yo), (xs, ys))
            x1, y1, x2, y2 = left[0] + box_w, left[1] + box_h / 2, right[0], right[1] + box_h / 2
            mid = (x1 + x2) / 2
            d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        marker = "marker-end" if depth[s] <= depth[o] else "marker-start"
        out.append(f'<path d="{d}" fill="none" stroke="{EDGE_COLOURS[i]}" stroke-width="1.6" '
                   f'{marker}="url(#arrow{i})"><title>{_esc(f"{label(s)} —{name}→ {label(o)}")}</title></path>')
    marked = set(answers)
    for n, (x, y) in pos.items():
        kind = "topic" if n == start else "answer" if n in marked else "path"
        fill, ink = NODE_COLOURS[kind]
        tip = label(n) + (f"\n{hover[n]}" if hover and n in hover else "")
        out.append(f'<g><title>{_esc(tip)}</title><rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="8" '
                   f'fill="{fill}" stroke="#1f2937" stroke-width="{1.8 if kind != "path" else 0.8}"/>'
                   f'<text x="{x + box_w / 2}" y="{y + box_h / 2 + 4}" text-anchor="middle" font-size="12" '
                   f'fill="{ink}">{_esc(_fit(label(n), 28))}</text></g>')
    # legend: node kinds, relation colours, and what was not drawn
    y = top + body_h + 22
    x = pad
    for kind, word in (("topic", "topic"), ("answer", "answer"), ("path", "on the way")):
        fill, _ = NODE_COLOURS[kind]
        out.append(f'<rect x="{x}" y="{y - 10}" width="14" height="12" rx="3" fill="{fill}" stroke="#1f2937" '
                   f'stroke-width="0.8"/><text x="{x + 19}" y="{y}" font-size="12" fill="#374151">{word}</text>')
        x += 30 + 7 * len(word)
    for name in props:
        out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour[name]}" '
                   f'stroke-width="2.5"/><text x="{x + 23}" y="{y}" font-size="12" fill="#374151">'
                   f'{_esc(_fit(name, 30))}</text>')
        x += 34 + 7 * len(_fit(name, 30))
    notes = []
    shown = sum(1 for a in answers if a in drawn)
    if total_answers is not None and total_answers > shown:
        notes.append(f"{shown} of {total_answers} answers drawn (all are listed above)")
    if hidden:
        notes.append(f"{hidden} more node{'s' if hidden > 1 else ''} on the way not drawn")
    if notes:
        out.append(f'<text x="{pad}" y="{y + 22}" font-size="12" fill="#6b7280">Note: {_esc("; ".join(notes))}. '
                   'Hover a box or an arrow for names and proofs.</text>')
    else:
        out.append(f'<text x="{pad}" y="{y + 22}" font-size="12" fill="#6b7280">Hover a box or an arrow for '
                   'names and proofs.</text>')
    out.append("</svg>")
    return "".join(out)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _short(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
