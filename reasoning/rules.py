"""Datalog-like rules over graph properties, semi-naive forward chaining with provenance, owlrl closure.

Rule file syntax (one rule per statement, `#` comments)::

    @prefix ex: <http://example.org/p/> .
    @base <http://kgreason.org/data/p/> .        # where new head properties are minted
    co_star(?a, ?b) :- starred_actors(?m, ?a), starred_actors(?m, ?b), ?a != ?b .

Predicates are bare property names (matched against the graph's property IRIs by their last segment),
prefixed names or `<IRIs>`; terms are `?variables`, prefixed names, `<IRIs>` or "literals"."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from rdflib import Literal, URIRef
from rdflib.term import Node

from knowledge.errors import InputError, MissingFileError, ParseError
from knowledge.namespaces import DEFAULT_NS
from reasoning.graphview import GraphView, Triple, as_rdf, iri_tail
from reasoning.provenance import Derivation

BUNDLED_RULES = Path(__file__).resolve().parent / "rules"


class RuleSyntaxError(ParseError):
    """A rule file that does not parse; the message names file:line:col."""


@dataclass(frozen=True)
class Var:
    name: str

    def __str__(self) -> str:
        return f"?{self.name}"


Term = Var | Node


@dataclass(frozen=True)
class PredicateRef:
    """A predicate as written: a bare name (resolved against the graph) or a full IRI."""

    name: str
    iri: URIRef | None = None


@dataclass(frozen=True)
class Atom:
    pred: PredicateRef
    s: Term
    o: Term


@dataclass(frozen=True)
class Constraint:
    left: Term
    op: str  # "!=" or "="
    right: Term


@dataclass(frozen=True)
class Rule:
    head: Atom
    body: tuple[Atom, ...]
    constraints: tuple[Constraint, ...]
    source: str  # file:line

    @property
    def name(self) -> str:
        return f"{self.head.pred.name} @ {self.source}"


@dataclass
class RuleSet:
    rules: list[Rule]
    base: str = DEFAULT_NS + "p/"

    @classmethod
    def load(cls, path: str | Path) -> "RuleSet":
        p = Path(path)
        if not p.is_file():
            raise MissingFileError("rules file not found", path=p)
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RuleSyntaxError("rules file is not UTF-8 text", path=p, line=1) from exc
        return cls.parse(text, source=str(p))

    @classmethod
    def parse(cls, text: str, source: str = "<rules>") -> "RuleSet":
        return _Parser(text, source).parse()

    @classmethod
    def bundled(cls, name: str = "movies") -> "RuleSet":
        return cls.load(BUNDLED_RULES / f"{name}.rules")


# ---------------------------------------------------------------------------------------------- parsing
_TOKENS = [
    ("ws", r"[ \t\r]+"), ("nl", r"\n"), ("comment", r"#[^\n]*"),
    ("directive", r"@(?:prefix|base)\b"), ("iri", r"<[^<>\"{}|^`\\\s]*>"),
    ("string", r'"(?:[^"\\\n]|\\.)*"'), ("var", r"\?[A-Za-z_]\w*"), ("number", r"-?\d+(?:\.\d+)?(?![\w:])"),
    ("implies", r":-"), ("pname", r"[A-Za-z_][\w-]*:[\w-]*|:\w[\w-]*"), ("name", r"[A-Za-z_][\w-]*"), ("neq", r"!="), ("eq", r"="), ("lpar", r"\("), ("rpar", r"\)"), ("comma", r","),
    ("dot", r"\."),
]
_LEXER = re.compile("|".join(f"(?P<{k}>{v})" for k, v in _TOKENS))


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int
    col: int


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.toks = list(self._lex(text))
        self.i = 0
        self.prefixes: dict[str, str] = {}
        self.base = DEFAULT_NS + "p/"

    def _err(self, msg: str, tok: _Tok | None = None) -> RuleSyntaxError:
        tok = tok or self._peek()
        return RuleSyntaxError(msg, path=self.source, line=tok.line, column=tok.col)

    def _lex(self, text: str) -> Iterator[_Tok]:
        line, line_start, pos = 1, 0, 0
        while pos < len(text):
            m = _LEXER.match(text, pos)
            if m is None:
                raise RuleSyntaxError(f"unexpected character {text[pos]!r}", path=self.source, line=line,
                                      column=pos - line_start + 1)
            kind = m.lastgroup or ""
            if kind == "nl":
                line, line_start = line + 1, m.end()
            elif kind not in ("ws", "comment"):
                yield _Tok(kind, m.group(), line, pos - line_start + 1)
            pos = m.end()
        yield _Tok("eof", "", line, pos - line_start + 1)

    def _peek(self) -> _Tok:
        return self.toks[self.i]

    def _take(self, *kinds: str, what: str = "") -> _Tok:
        tok = self._peek()
        if tok.kind not in kinds:
            found = "end of file" if tok.kind == "eof" else repr(tok.text)
            raise self._err(f"expected {what or ' or '.join(kinds)}, found {found}", tok)
        self.i += 1
        return tok

    def parse(self) -> RuleSet:
        rules: list[Rule] = []
        while self._peek().kind != "eof":
            if self._peek().kind == "directive":
                self._directive()
            else:
                rules.append(self._rule())
        return RuleSet(rules=rules, base=self.base)

    def _directive(self) -> None:
        tok = self._take("directive")
        if tok.text == "@prefix":
            pname = self._take("pname", what="a prefix like ex:")
            if not pname.text.endswith(":"):
                raise self._err("a prefix name must end with ':'", pname)
            iri = self._take("iri", what="an <IRI>")
            self.prefixes[pname.text[:-1]] = iri.text[1:-1]
        else:
            self.base = self._take("iri", what="an <IRI>").text[1:-1]
        self._take("dot", what="'.' after the directive")

    def _rule(self) -> Rule:
        start = self._peek()
        head = self._atom()
        self._take("implies", what="':-'")
        body: list[Atom] = []
        constraints: list[Constraint] = []
        while True:
            tok = self._peek()
            if tok.kind in ("var",) or (tok.kind in ("iri", "string", "number")):
                left = self._term()
                op = self._take("neq", "eq", what="'!=' or '='")
                constraints.append(Constraint(left, op.text, self._term()))
            else:
                body.append(self._atom())
            if self._peek().kind == "comma":
                self.i += 1
                continue
            self._take("dot", what="',' or '.' ending the rule")
            break
        rule = Rule(head, tuple(body), tuple(constraints), f"{self.source}:{start.line}")
        bound = {t for a in body for t in (a.s, a.o) if isinstance(t, Var)}
        for term in (head.s, head.o):
            if isinstance(term, Var) and term not in bound:
                raise self._err(f"head variable {term} does not appear in the rule body", start)
        for c in constraints:
            for term in (c.left, c.right):
                if isinstance(term, Var) and term not in bound:
                    raise self._err(f"variable {term} in a comparison does not appear in the rule body", start)
        return rule

    def _atom(self) -> Atom:
        tok = self._take("name", "pname", "iri", what="a predicate name")
        pred = self._predicate(tok)
        self._take("lpar", what="'('")
        s = self._term()
        self._take("comma", what="','")
        o = self._term()
        self._take("rpar", what="')' (predicates take two arguments)")
        return Atom(pred, s, o)

    def _predicate(self, tok: _Tok) -> PredicateRef:
        if tok.kind == "name":
            return PredicateRef(tok.text)
        iri = self._iri(tok)
        return PredicateRef(iri_tail(iri), iri)

    def _iri(self, tok: _Tok) -> URIRef:
        if tok.kind == "iri":
            return URIRef(tok.text[1:-1])
        prefix, _, local = tok.text.partition(":")
        if prefix not in self.prefixes:
            raise self._err(f"unknown prefix '{prefix}:' (declare it with @prefix)", tok)
        return URIRef(self.prefixes[prefix] + local)

    def _term(self) -> Term:
        tok = self._take("var", "pname", "iri", "string", "number", what="a ?variable or a constant")
        if tok.kind == "var":
            return Var(tok.text[1:])
        if tok.kind == "string":
            return Literal(tok.text[1:-1].encode().decode("unicode_escape"))
        if tok.kind == "number":
            return Literal(tok.text)
        return self._iri(tok)


# ---------------------------------------------------------------------------------------------- chaining
@dataclass
class RuleResult:
    """Triples derived to a fixed point, each with its derivation; counts per rule."""

    derived: list[Triple] = field(default_factory=list)
    derivations: dict[Triple, Derivation] = field(default_factory=dict)
    per_rule: dict[str, int] = field(default_factory=dict)
    iterations: int = 0
    properties: dict[str, URIRef] = field(default_factory=dict)


class RuleEngine:
    """Semi-naive forward chaining of a RuleSet over a graph (read through a GraphView)."""

    def __init__(self, rules: RuleSet, max_derived: int = 5_000_000) -> None:
        self.rules = rules
        self.max_derived = max_derived

    def resolve(self, view: GraphView) -> dict[str, URIRef]:
        """Bare predicate names -> property IRIs: an existing property with that last segment, else minted."""
        known: dict[str, URIRef] = {}
        for p in sorted(view.out, key=str):
            known.setdefault(iri_tail(p), p)
        names: dict[str, URIRef] = {}
        for rule in self.rules.rules:
            for atom in (rule.head, *rule.body):
                ref = atom.pred
                names[ref.name] = ref.iri or known.get(ref.name) or URIRef(self.rules.base + ref.name)
        return names

    def run(self, graph: object | GraphView) -> RuleResult:
        view = graph if isinstance(graph, GraphView) else GraphView.build(graph)
        names = self.resolve(view)
        derived_out: dict[URIRef, dict[Node, set[Node]]] = {}
        derived_inc: dict[URIRef, dict[Node, set[Node]]] = {}
        result = RuleResult(properties=names)

        def lookup(p: URIRef, s: Node | None, o: Node | None) -> Iterator[Triple]:
            base_out, dout = view.out.get(p, {}), derived_out.get(p, {})
            if s is not None:
                objs = list(base_out.get(s, ())) + [x for x in dout.get(s, ()) if x not in base_out.get(s, ())]
                for x in objs:
                    if o is None or x == o:
                        yield (s, p, x)
            elif o is not None:
                for x in view.inc.get(p, {}).get(o, ()):
                    yield (x, p, o)
                for x in derived_inc.get(p, {}).get(o, ()):
                    if o not in base_out.get(x, ()):
                        yield (x, p, o)
            else:
                for x, objs in base_out.items():
                    for y in objs:
                        yield (x, p, y)
                for x, objs2 in dout.items():
                    for y in objs2:
                        if y not in base_out.get(x, ()):
                            yield (x, p, y)

        delta: dict[URIRef, list[Triple]] | None = None  # None: first (naive) round
        while True:
            result.iterations += 1
            new: dict[Triple, Derivation] = {}
            for rule in self.rules.rules:
                head_p = names[rule.head.pred.name]
                positions = range(len(rule.body)) if delta is not None else [None]
                for pos in positions:
                    if delta is not None and not delta.get(names[rule.body[pos].pred.name]):  # type: ignore[index]
                        continue
                    for binding, premises in self._join(rule, names, lookup, delta, pos):
                        t = (_ground(rule.head.s, binding), head_p, _ground(rule.head.o, binding))
                        if t in new or t in result.derivations or view.has(*t):
                            continue
                        new[t] = Derivation(rule.name, premises)
            if not new:
                return result
            if len(result.derivations) + len(new) > self.max_derived:
                raise InputError(f"rules derived more than {self.max_derived} triples; "
                                 "check for a rule that multiplies facts")
            delta = {}
            for t, d in new.items():
                result.derivations[t] = d
                result.derived.append(t)
                result.per_rule[d.rule] = result.per_rule.get(d.rule, 0) + 1
                derived_out.setdefault(t[1], {}).setdefault(t[0], set()).add(t[2])
                derived_inc.setdefault(t[1], {}).setdefault(t[2], set()).add(t[0])
                delta.setdefault(t[1], []).append(t)

    def _join(self, rule: Rule, names: Mapping[str, URIRef], lookup, delta: dict | None,
              pos: int | None) -> Iterator[tuple[dict[Var, Node], tuple[Triple, ...]]]:
        order = list(range(len(rule.body)))
        if pos is not None:
            order.remove(pos)
            order.insert(0, pos)

        def walk(k: int, binding: dict[Var, Node], premises: tuple[Triple, ...]):
            if k == len(order):
                if all(_check(c, binding) for c in rule.constraints):
                    yield binding, premises
                return
            idx = order[k]
            atom = rule.body[idx]
            p = names[atom.pred.name]
            s = _ground(atom.s, binding, None)
            o = _ground(atom.o, binding, None)
            source = delta.get(p, []) if (pos is not None and idx == pos and delta is not None) else None
            candidates = (t for t in source if (s is None or t[0] == s) and (o is None or t[2] == o)) \
                if source is not None else lookup(p, s, o)
            for t in candidates:
                b = dict(binding)
                if isinstance(atom.s, Var):
                    b[atom.s] = t[0]
                if isinstance(atom.o, Var):
                    if atom.o in b and b[atom.o] != t[2]:
                        continue
                    b[atom.o] = t[2]
                yield from walk(k + 1, b, premises + (t,))

        yield from walk(0, {}, ())


def _ground(term: Term, binding: Mapping[Var, Node], default: object = ...) -> Node:
    if isinstance(term, Var):
        if term in binding:
            return binding[term]
        if default is ...:
            raise KeyError(term)
        return default  # type: ignore[return-value]
    return term


def _check(c: Constraint, binding: Mapping[Var, Node]) -> bool:
    left, right = _ground(c.left, binding), _ground(c.right, binding)
    return (left != right) if c.op == "!=" else (left == right)


def owl_closure(graph: object, semantics: str = "rdfs") -> list[Triple]:
    """Triples the owlrl RDFS or OWL-RL closure adds (computed on a copy; the graph is not changed)."""
    import owlrl

    kinds = {"rdfs": owlrl.RDFS_Semantics, "owlrl": owlrl.OWLRL_Semantics,
             "rdfs+owlrl": owlrl.RDFS_OWLRL_Semantics}
    if semantics not in kinds:
        raise InputError(f"unknown closure {semantics!r}; choose one of {', '.join(kinds)}")
    rdf = as_rdf(graph)
    copy = rdflib.Graph()
    for t in rdf.triples((None, None, None)):
        copy.add(t)
    owlrl.DeductiveClosure(kinds[semantics], axiomatic_triples=False, datatype_axioms=False).expand(copy)
    return [t for t in copy.triples((None, None, None)) if t not in rdf]  # type: ignore[misc]
