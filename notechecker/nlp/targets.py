"""Target matching: medspaCy's TargetMatcher (``result_type="group"``, no pruning) on
notechecker's vocabularies, with action and brand cues kept in a group of their own.

Spans go to ``doc.spans[span_group]`` (overlaps kept, so "broken rod" is both a
failure reason and a rod), each with ``span._.target_rule``; spans whose label is
one of ``cue_labels`` (what was done, brand names: ConText never assesses them) go
to ``doc.spans[cue_group]`` instead.

A user's TargetRules (medspaCy's JSON, :mod:`notechecker.nlp.medspacy_rules`) are matched
with the same matcher; their spans go to ``doc.spans[user_group]`` (ConText assesses
them; the facts list each as a mention of its label), and a rule's ``attributes`` are
set on its spans as medspaCy's TargetMatcher sets them.

Beside the target and cue groups it leaves their spans as plain values in ``doc.user_data``
(:class:`notechecker.nlp.rules.TargetSpans`): ConText and the extractor read those rows instead of
building a Span (and two Tokens) for every span of a group they read.
"""


from spacy.language import Language
from spacy.tokens import Span

from .. import _extensions
from .rules import RULE_KEY, TARGET_SPANS, RuleComponent, TargetRule, TargetSpans


class TargetMatcher(RuleComponent):
    def __init__(self, nlp: Language, name: str, *, span_group: str, cue_group: str, cue_labels: list[str],
                 user_group: str = "user_targets"):
        _extensions.register()
        self.nlp = nlp
        self.name = name
        self.span_group = span_group
        self.cue_group = cue_group
        self.user_group = user_group
        self.cue_labels = frozenset(cue_labels)
        self.rules: list[TargetRule] = []
        self.clear()

    rule_class = TargetRule

    def rules_of(self, patterns) -> list[TargetRule]:
        return target_rules(patterns)

    def _compile(self) -> None:
        super()._compile()
        # match id -> (rule, label id, 0 target / 1 cue / 2 a user's target, label), worked out once
        strings = self.nlp.vocab.strings
        self._plan = {match_id: (rule, strings.add(rule.category),
                                 2 if match_id in self._user_keys else 1 if rule.category in self.cue_labels else 0,
                                 rule.category)
                      for match_id, rule in self._rule_of.items()}

    # ------------------------------------------------------------------ call
    def __call__(self, doc):
        keep, cues, user = [], [], []
        rows: tuple[list, list] = ([], [])  # the target and cue spans as plain values (rules.TargetSpans)
        user_data = doc.user_data
        if self._matcher is not None:
            plan, (key0, key1) = self._plan, RULE_KEY
            # a group's (span list, row list) appenders: 0 targets, 1 cues
            adds = ((keep.append, rows[0].append), (cues.append, rows[1].append))
            for match_id, start, end in self._matcher(doc):
                rule, label, group, name = plan[match_id]
                span = Span(doc, start, end, label)
                if group == 2:
                    span._.target_rule = rule
                    for attr, value in (rule.attributes or {}).items():
                        setattr(span._, attr, value)
                    user.append(span)
                    continue
                start_char, end_char = span.start_char, span.end_char
                # span._.target_rule = rule, without building span._ (rules.span_value_key_at)
                user_data[key0, key1, start_char, end_char] = rule
                add_span, add_row = adds[group]
                add_span(span)
                add_row((start, end, start_char, end_char, name))
        spans = doc.spans
        for name, made, plain in ((self.span_group, keep, rows[0]), (self.cue_group, cues, rows[1])):
            spans[name] = made
            user_data[(TARGET_SPANS, name)] = TargetSpans(spans[name], plain)
        if user or self.user_rules:
            spans[self.user_group] = user
        return doc


def target_rules(patterns) -> list[TargetRule]:
    """The target rules of a :class:`notechecker.schema.vocab.patterns.Patterns` (literals; value and weight as metadata)."""
    out = []
    for t in patterns.targets:
        out.append(TargetRule(t.literal, t.category, {"value": t.value, "weight": t.weight}, t.pattern))
    return out


@Language.factory(
    "notechecker_targets",
    default_config={"span_group": "targets", "cue_group": "cues", "cue_labels": ["ACTION", "BRAND"],
                    "user_group": "user_targets"},
    assigns=["doc.spans", "span._.target_rule"],
)
def make_targets(nlp: Language, name: str, span_group: str, cue_group: str, cue_labels: list[str],
                 user_group: str):
    """Target phrases of patterns/targets/ (rules from ``initialize`` or ``from_disk``)."""
    return TargetMatcher(nlp, name, span_group=span_group, cue_group=cue_group, cue_labels=cue_labels,
                         user_group=user_group)
