"""ConText (negation, hypothetical, history, family, risk) sentence by sentence.

This is medspaCy 1.3.1's ConText algorithm (ConTextModifier scopes, ``limit_scope``
between modifiers, ``modifies``/``reduce_targets``, the ``ConTextGraph`` edges and span
attributes) with one change of cost, not of result: medspaCy compares every modifier
with every other modifier and with every target of the document, so its time grows
with the square of the note's length. A modifier's scope never leaves its sentence
(its scope is the sentence, cut to ``max_scope``), so only the modifiers and targets
of one sentence can meet: this compares those, sentence by sentence, and gives the
same edges. The segmenter bounds a sentence's length, so the cost is linear in the
note's length. tests/test_medspacy_parity.py checks the results against medspaCy's own
ConText on every corpus note.

A user's ConTextRules (medspaCy's JSON, :mod:`notechecker.nlp.medspacy_rules`) join
notechecker's in the same matcher, as they would in one medspaCy ConText; the targets
of a user's TargetRules (``doc.spans[user_group]``) are assessed with notechecker's.

The targets are read from the target component's record of its group (:class:`notechecker.nlp.rules.TargetSpans`)
where it holds: a target's Span is built only when a modifier takes it (the graph's edges hold Spans), and the
group itself (``graph.targets``) when it is read.
"""

import bisect
import weakref

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Span

from .. import _extensions
from .._extensions import set_doc_value
from .rules import ConTextRule, RuleComponent, TargetSpans, prune_overlapping_matches, span_value_key
from .segmenter import Sentences


#: ConText category -> the Span extension it sets (registered in notechecker._extensions).
CONTEXT_ATTRS = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "CONSENT_RISK": {"is_risk": True},
}


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    """medspaCy's ``tuple_overlaps`` (asymmetric, kept as it is for the same results)."""
    return a0 <= b0 < a1 or a0 < b1 <= a1


class Modifier:
    """A matched ConText cue and its scope (medspaCy's ConTextModifier, same fields)."""

    __slots__ = ("rule", "category", "direction", "_start", "_end", "_scope_start", "_scope_end", "_targets")

    def __init__(self, rule: ConTextRule, start: int, end: int, sent_start: int, sent_end: int):
        self.rule = rule
        self.category = rule.category
        self.direction = rule.direction
        self._start, self._end = start, end
        self._targets: list = []
        max_scope = rule.max_scope
        if self.direction == "FORWARD":
            s0, s1 = end, sent_end
            if max_scope is not None and s1 - s0 > max_scope:
                s1 = end + max_scope
        elif self.direction == "BACKWARD":
            s0, s1 = sent_start, start
            if max_scope is not None and s1 - s0 > max_scope:
                s0 = start - max_scope
        else:  # BIDIRECTIONAL, TERMINATE, PSEUDO
            s0, s1 = sent_start, sent_end
            if max_scope is not None and start - s0 > max_scope:
                s0 = start - max_scope
            if max_scope is not None and s1 - end > max_scope:
                s1 = end + max_scope
        self._scope_start, self._scope_end = s0, s1

    @property
    def modifier_span(self) -> tuple[int, int]:
        return self._start, self._end

    @property
    def scope_span(self) -> tuple[int, int]:
        return self._scope_start, self._scope_end

    @property
    def targets(self) -> list:
        return list(self._targets)

    def limit_scope(self, other: "Modifier") -> None:
        if not _overlaps(self._scope_start, self._scope_end, other._scope_start, other._scope_end):
            return
        if self.direction == "TERMINATE":
            return
        if (other.direction != "TERMINATE" and other.category not in self.rule.terminated_by
                and other.category != self.category):
            return
        if self.category == other.category and (self.rule.allowed_types != other.rule.allowed_types
                                                or self.rule.excluded_types != other.rule.excluded_types):
            return
        if self.direction in ("FORWARD", "BIDIRECTIONAL") and self._start < other._start:
            self._scope_end = min(self._scope_end, other._start)
        if self.direction in ("BACKWARD", "BIDIRECTIONAL") and other._end < self._end:
            self._scope_start = max(self._scope_start, other._end)

    def modifies(self, target) -> bool:
        return self._modifies(target.start, target.end, target.label_.upper())

    def _modifies(self, t0: int, t1: int, label: str) -> bool:
        """:meth:`modifies` for a target at tokens ``t0:t1`` with the upper-cased label ``label``."""
        if _overlaps(self._start, self._end, t0, t1):
            return False
        if self.direction in ("TERMINATE", "PSEUDO"):
            return False
        rule = self.rule
        if rule.allowed_types is not None:
            if label not in rule.allowed_types:
                return False
        elif rule.excluded_types is not None and label in rule.excluded_types:
            return False
        return _overlaps(self._scope_start, self._scope_end, t0, t1)

    def reduce_targets(self) -> None:
        max_targets = self.rule.max_targets
        if max_targets is None or len(self._targets) <= max_targets:
            return
        dist = [(t, min(abs(self._start - t.end), abs(t.start - self._end))) for t in self._targets]
        self._targets = [t for t, _ in sorted(dist, key=lambda x: x[1])][:max_targets]

    def __repr__(self):
        return f"<Modifier> [{self._start}, {self._end}, {self.category}]"


class ContextGraph:
    """Targets, modifiers and the (target, modifier) edges of one Doc (medspaCy's ConTextGraph fields). Made from a
    target component's record (``unmade``: the Doc, a weak reference, the group's name and its
    :class:`~notechecker.nlp.rules.TargetSpans`), ``targets`` is that span group, made when first read."""

    __slots__ = ("_targets", "modifiers", "edges", "_unmade")

    def __init__(self, targets, modifiers, edges, unmade: tuple | None = None):
        self._targets, self.modifiers, self.edges, self._unmade = targets, modifiers, edges, unmade

    @property
    def targets(self):
        if self._targets is None:
            doc, name, record = self._unmade
            self._targets = record.made(doc(), name)
        return self._targets

    def __repr__(self):
        return f"<ContextGraph> with {len(self.targets)} targets and {len(self.modifiers)} modifiers"


class ConText(RuleComponent):
    def __init__(self, nlp: Language, name: str, *, span_group: str, span_attrs: dict[str, dict[str, bool]],
                 user_group: str = "user_targets"):
        _extensions.register()
        self.nlp = nlp
        self.name = name
        self.span_group = span_group
        self.user_group = user_group
        self.span_attrs = span_attrs
        self.rules: list[ConTextRule] = []
        self.clear()

    rule_class = ConTextRule

    def rules_of(self, patterns) -> list[ConTextRule]:
        return context_rules(patterns)

    # ------------------------------------------------------------------ call
    def __call__(self, doc):
        groups, record, targets = doc.spans, None, None
        if self.user_group in groups and len(groups[self.user_group]):  # a user's targets, in order
            targets = sorted([*groups[self.span_group], *groups[self.user_group]], key=lambda s: (s.start, s.end))
        else:  # the group's spans as the target component made them, if it did (rules.TargetSpans): the group
            record = TargetSpans.of(doc, self.span_group)  # itself (its Spans) then not read
            if record is None:
                targets = groups[self.span_group]
        modifiers: list[Modifier] = []
        edges: list = []
        matches = prune_overlapping_matches(self._matcher(doc)) if self._matcher is not None else []
        if matches:
            n = len(doc)
            sentences = Sentences.of(doc)  # the segmenter's starts, if they still hold
            if sentences is not None:
                starts = sentences.starts
            else:
                starts = (doc.to_array(SENT_START) == 1).nonzero()[0].tolist()  # (flatnonzero without its wrappers)
                if not starts or starts[0] != 0:
                    starts.insert(0, 0)
            bounds = starts + [n]
            by_sent: dict[int, list[Modifier]] = {}
            for match_id, start, end in matches:
                k = bisect.bisect_right(starts, start) - 1
                m = Modifier(self._rule_of[match_id], start, end, bounds[k], bounds[k + 1])
                modifiers.append(m)
                by_sent.setdefault(k, []).append(m)
            for mods in by_sent.values():  # scopes meet only inside a sentence
                for i in range(len(mods) - 1):
                    m1 = mods[i]
                    for m2 in mods[i + 1:]:
                        m1.limit_scope(m2)
                        m2.limit_scope(m1)
            if record is not None:  # (start, end, ..., label) a target; its Span built only for a modifier's
                self._by_sentence(doc, record.rows, by_sent, bounds)
            else:
                self._each_target(targets, by_sent, starts, bounds)
            for m in modifiers:
                m.reduce_targets()
                for target in m._targets:
                    edges.append((target, m))
            if edges:
                self._set_values(doc, edges)
        unmade = None if record is None else (weakref.ref(doc), self.span_group, record)
        set_doc_value(doc, "context_graph", ContextGraph(targets, modifiers, edges, unmade))
        return doc

    @staticmethod
    def _by_sentence(doc, rows: list[tuple], by_sent: dict[int, list[Modifier]], bounds: list[int]) -> None:
        """Each sentence's modifiers given the targets (``rows``: the target component's, in order of their
        starts) that lie in that sentence or reach into it, in order: a sentence without modifiers costs
        nothing (:meth:`_each_target`'s edges). A target's Span (equal to its group's) is made once, when a
        modifier first takes it."""
        made: dict[int, Span] = {}
        firsts = [row[0] for row in rows]
        longest = max([row[1] - row[0] for row in rows]) if rows else 0
        bisect_left = bisect.bisect_left
        for k, mods in by_sent.items():
            s0, s1 = bounds[k], bounds[k + 1]
            # a target starting in the sentence, or up to `longest` tokens before it (it may reach into it)
            for i in range(bisect_left(firsts, s0 - longest), bisect_left(firsts, s1)):
                t0, t1, _, _, label = rows[i]
                if t0 < s0 and t1 <= s0:  # (before the sentence)
                    continue
                upper = label.upper()
                for m in mods:
                    if m._modifies(t0, t1, upper):
                        span = made.get(i)
                        if span is None:
                            span = made[i] = Span(doc, t0, t1, label)
                        m._targets.append(span)

    @staticmethod
    def _each_target(targets, by_sent: dict[int, list[Modifier]], starts: list[int], bounds: list[int]) -> None:
        """Each target given the modifiers of the sentences it lies in that it may take (targets in
        order, so each modifier's are in order)."""
        seq = list(targets)
        span_of = seq.__getitem__
        bisect_right = bisect.bisect_right
        for i, t in enumerate(seq):
            t0, t1 = t.start, t.end
            k0 = bisect_right(starts, t0) - 1
            if t1 <= bounds[k0 + 1]:  # in one sentence (most): its modifiers, if any
                mods = by_sent.get(k0)
                if mods:
                    label = t.label_.upper()
                    for m in mods:
                        if m._modifies(t0, t1, label):
                            m._targets.append(span_of(i))
                continue
            k1 = bisect_right(starts, t1 - 1) - 1
            label = t.label_.upper()
            for k in range(k0, k1 + 1):
                for m in by_sent.get(k, ()):
                    if m._modifies(t0, t1, label):
                        m._targets.append(span_of(i))

    def _set_values(self, doc, edges) -> None:
        """Each edge's modifier added to its target's ``_.modifiers`` and the category's span attributes
        set, as ``target._.<name>`` would, straight in ``doc.user_data`` (rules.span_value_key) where
        the extension is a plain value (no getter, setter or method), else through ``target._``."""
        user_data, attrs = doc.user_data, self.span_attrs
        plain = {}
        for name in {"modifiers", *(a for d in attrs.values() for a in d)}:
            default, method, getter, setter = Span.get_extension(name)
            plain[name] = method is None and getter is None and setter is None and not isinstance(
                default, (dict, list, set))
        no_modifiers = Span.get_extension("modifiers")[0]
        for target, m in edges:
            if plain["modifiers"]:
                key = span_value_key("modifiers", target)
                user_data[key] = user_data.get(key, no_modifiers) + (m,)
            else:
                target._.modifiers += (m,)
            for attr, value in attrs.get(m.category, {}).items():
                if plain[attr]:
                    user_data[span_value_key(attr, target)] = value
                else:
                    setattr(target._, attr, value)



def context_rules(patterns) -> list[ConTextRule]:
    """The ConText rules of a :class:`notechecker.schema.vocab.patterns.Patterns` (literal, token pattern or regex)."""
    out = []
    for c in patterns.context:
        out.append(ConTextRule(c.literal, c.category, c.direction, c.pattern, c.max_scope, c.max_targets,
                               frozenset(c.allowed_types) if c.allowed_types else None,
                               frozenset(c.excluded_types) if c.excluded_types else None))
    return out


@Language.factory(
    "notechecker_context",
    default_config={"span_group": "targets", "span_attrs": CONTEXT_ATTRS, "user_group": "user_targets"},
    requires=["token.is_sent_start", "doc.spans"],
    assigns=["doc._.context_graph", "span._.modifiers", *(f"span._.{a}" for d in CONTEXT_ATTRS.values() for a in d)],
)
def make_context(nlp: Language, name: str, *, span_group: str, span_attrs: dict[str, dict[str, bool]],
                 user_group: str):
    """ConText over the targets, sentence by sentence (rules from ``initialize`` or ``from_disk``)."""
    return ConText(nlp, name, span_group=span_group, span_attrs=span_attrs, user_group=user_group)
