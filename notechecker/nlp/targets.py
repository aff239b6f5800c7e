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

The target and cue groups are kept as plain values in ``doc.user_data`` (:class:`notechecker.nlp.rules.TargetSpans`),
which ConText and the extractor read; their Spans (a Span and two Tokens each) are made only when something
reads ``doc.spans[span_group]`` or ``doc.spans[cue_group]`` (:class:`notechecker.nlp.rules.UnmadeGroups`).
"""


from spacy.language import Language
from spacy.tokens import Span

from .. import _extensions
from .rules import RULE_KEY, TARGET_SPANS, RuleComponent, TargetRule, TargetSpans, UnmadeGroups
from .segmenter import token_starts


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
        user = []
        rows: tuple[list, list] = ([], [])  # the target and cue spans as plain values (rules.TargetSpans)
        user_data = doc.user_data
        matches = self._matcher(doc) if self._matcher is not None else ()
        if matches:
            plan, (key0, key1) = self._plan, RULE_KEY
            idx, spacy, length = token_starts(doc)  # (a span's characters, as its Span gives them)
            n = len(idx)
            adds = (rows[0].append, rows[1].append)  # 0 targets, 1 cues
            for match_id, start, end in matches:
                rule, label, group, name = plan[match_id]
                if group == 2:
                    span = Span(doc, start, end, label)
                    span._.target_rule = rule
                    for attr, value in (rule.attributes or {}).items():
                        setattr(span._, attr, value)
                    user.append(span)
                    continue
                start_char, end_char = idx[start], (idx[end] if end < n else length) - spacy[end - 1]
                # span._.target_rule = rule, without building span._ (rules.span_value_key_at)
                user_data[key0, key1, start_char, end_char] = rule
                adds[group]((start, end, start_char, end_char, name))
        for name, plain in ((self.span_group, rows[0]), (self.cue_group, rows[1])):
            record = user_data[(TARGET_SPANS, name)] = TargetSpans(plain)
            UnmadeGroups.leave(doc, name, record)  # (its Spans made when the group is read)
        if user or self.user_rules:
            doc.spans[self.user_group] = user
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
