"""spaCy's English tokenizer, safe on long runs of punctuation or emoji.

spaCy's tokenizer strips prefixes and suffixes off a whitespace-free chunk one at a
time, rescanning the rest each time: a run of 1,000 ``=`` or emoji takes ~0.3 s, of
10,000 over 20 s, of 100,000 hours (worse than quadratic). Here a run of non-space
characters longer than ``max_run`` is tokenized in pieces of ``piece`` characters
and the Doc is built from the words and spaces (``Doc(vocab, words, spaces)``), so
``doc.text`` is the input exactly and every offset stays true. Text without such a
run (every real note: their longest run is ~35 characters) is tokenized exactly as
spaCy's tokenizer does it, by spaCy's tokenizer.

The tokenizer also keeps the input string on the Doc (``notechecker._extensions.note_text``),
so components read the text without rebuilding it from tokens.

**spaCy's token cache, primed.** spaCy's tokenizer caches the tokens of every whitespace-free
chunk it splits, so a word met again costs a hash lookup instead of the prefix, suffix and
infix regexes. But it refuses to cache anything more in a text once one chunk of that text hit
a special case (``has_special`` in ``Tokenizer._save_cached``, spaCy issue #1250): an operative
note has its "Dr." or "p.m." in the first lines, so the rest of every note is split afresh,
note after note (two thirds of the tokenizer's time on real notes). Here each chunk (and each
whitespace run) the tokenizer has not seen yet is first tokenized on its own, which caches it
when it holds no special case, and then the whole text is tokenized by spaCy as before (the new
chunks spaCy meets no special case in, most of them, are tokenized together: one text, one Doc; see
:func:`_meets_no_special`). The
tokens are spaCy's own either way (a cache hit gives what splitting gives; priming changes what
is cached, never what is returned). Chunks are remembered up to ``prime_limit`` (then new ones
are left to spaCy alone), which with the scan's worker recycling keeps memory bounded.

**spaCy's " " special case, left out.** spaCy tries every special case whose string holds a space
with its special-case matcher on every Doc, and builds a Span (and reads its text, token by token)
for every match, to put the special case's tokens in place. The English special case " " (one
token, nothing but its ORTH) matches every extra space of a note, and puts back the very token the
affix pass made: " " has no prefix, suffix or infix, so without the rule it is the same one token.
Such rules (:func:`matcher_only_specials`) are left out of the tokenizer's rules: the same tokens,
ORTH, NORM, LOWER, SPACY and IDX, without ~0.1 ms a note of Spans. (The one trace: spaCy's matcher
copies the rule's blank token, so in spaCy's own Doc a " " token has ``left_edge`` and
``right_edge`` token 0, and a Doc's first token " " no sentence start; here they are those of
every other token before a parser runs.)

**A new word's split.** spaCy splits a chunk it has not cached with its suffix regex (82 alternatives
for English, each tried at every character), its infix regex and its URL regex: most of what a note's
new words cost on its first reading. :mod:`notechecker.nlp.tokenizer_affixes` searches them without
the alternatives a word cannot match (the same matches); :func:`spacy_tokenizer` gives them to spaCy's
tokenizer.

**A new string's lexeme.** spaCy calls the language's 23 lexical attribute getters on every string its
vocabulary meets for the first time (~11 us a string, ~20 strings a spine note on its first reading);
:mod:`notechecker.nlp.tokenizer_lexemes` gives the vocabulary getters of the same values with less Python
in them.
"""

import re
import string

from spacy import util
from spacy.attrs import ORTH, intify_attrs
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import registry

from .._extensions import TEXT_KEY
from . import tokenizer_lexemes
from .tokenizer_affixes import GatedMatch, InfixFinditer, SuffixSearch

#: Runs of non-space characters at least this long are tokenized in pieces.
MAX_RUN = 256
#: Length of each piece of such a run.
PIECE = 64
#: Distinct chunks primed into spaCy's token cache, at most (about 100 bytes each here, as much
#: again in spaCy's cache; a scan worker is recycled after NOTECHECKER_RECYCLE_NOTES notes).
PRIME_LIMIT = 200_000
_WHITESPACE = re.compile(r"\s+")
#: From a line end to the end of its whitespace run (a literal first character: the engine skips to it).
_FROM_LINE_END = re.compile(r"\n\s*")
#: The ASCII characters str.isspace (and so spaCy) splits at, but for " " and "\n".
_OTHER_ASCII_SPACE = tuple(c for c in map(chr, range(128)) if c.isspace() and c not in " \n")
_PUNCT = string.punctuation


def _only_spaces_and_line_ends(text: str, chunks: list[str]) -> bool:
    if text.isascii():  # (known to the string: no scan)
        return not any(c in text for c in _OTHER_ASCII_SPACE)
    return len(text) - text.count(" ") - text.count("\n") == sum(map(len, chunks))


def _whitespace_chunks(text: str, chunks: list[str]) -> set[str]:
    """The whitespace chunks spaCy's tokenizer meets in ``text`` (``chunks``: ``text.split()``), as it
    splits them: every whitespace run, less the one space that follows a token (that space is the token's).
    A text whose white space is spaces and line ends only, starting with neither, without two spaces
    before a line end: its chunks are the runs from a line end on (one space before a line end belongs to
    the token) and the runs of spaces less their first (for the longest run of n spaces, every run of 1
    to n - 1 spaces: some may be no chunk, each is spaCy's one token then); else every run is read."""
    if text and not text[0].isspace() and "  \n" not in text and _only_spaces_and_line_ends(text, chunks):
        out = set(_FROM_LINE_END.findall(text))
        spaces = "  "
        while spaces in text:  # a run of len(spaces) or more: its chunk may be one space shorter
            out.add(spaces[1:])
            spaces += " "
        return out
    runs = _WHITESPACE.findall(text)
    first = runs.pop(0) if text[:1].isspace() else ""  # no token before it: the first run is a chunk whole
    out = {run[1:] if run[0] == " " else run for run in set(runs)}  # one space after a token is that token's
    out.add(first)
    out.discard("")
    return out


def _meets_no_special(chunk: str, rules: dict) -> bool:
    """Whether spaCy's tokenizer meets none of its special cases (``rules``) splitting ``chunk``: a chunk of ASCII
    letters and digits (words of them joined by single hyphens: "L4-5", "low-profile"; spaCy looks up no piece
    its infixes split off) with ASCII punctuation before and after, none of whose strings spaCy looks up (the
    chunk less some of that punctuation before and after it) is a special case. False: it may meet one (a
    wrong True would cost time, not tokens: the chunks primed after it in the same text go uncached)."""
    if chunk.isascii() and chunk.isalnum():  # (no punctuation before or after: the one string is the chunk)
        return chunk not in rules
    start, end = len(chunk) - len(chunk.lstrip(_PUNCT)), len(chunk.rstrip(_PUNCT))
    core = chunk[start:end]
    if not (core.isascii() and (core.isalnum() or (core.replace("-", "").isalnum() and "--" not in core))):
        return False
    last = len(chunk) + 1
    for i in range(start + 1):  # (loops, not a generator: ~0.5 us less a chunk)
        for j in range(end, last):
            if chunk[i:j] in rules:
                return False
    return True


class NoteTokenizer:
    """Wraps a spaCy tokenizer: pieces for pathological runs, the input kept on the Doc."""

    def __init__(self, tokenizer, *, max_run: int = MAX_RUN, piece: int = PIECE, prime_limit: int = PRIME_LIMIT):
        if not (0 < piece <= max_run):
            raise ValueError(f"piece ({piece}) must be positive and at most max_run ({max_run})")
        self.tokenizer = tokenizer
        self.max_run = max_run
        self.piece = piece
        self.prime_limit = prime_limit
        self._long_run = re.compile(r"\S{%d,}" % max_run)
        self._primed: set[str] = set()

    def __call__(self, text: str) -> Doc:
        chunks = text.split()  # spaCy's chunks: str.split and spaCy split at the same (str.isspace) characters
        primed = self._primed
        if len(primed) < self.prime_limit:
            # most notes hold no chunk not seen yet: asked of the list, without a set of its chunks
            new = set() if primed.issuperset(chunks) else set(chunks).difference(primed)
            # a chunk of max_run characters or more is never primed (its text goes in pieces): a new one
            long_run = any(len(chunk) >= self.max_run for chunk in new)
        else:
            new = None
            long_run = len(text) >= self.max_run and bool(chunks) and max(map(len, chunks)) >= self.max_run
        if long_run:
            doc = self._in_pieces(text)
        else:
            if new is not None:
                self._prime(text, chunks, new)
            doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def _prime(self, text: str, chunks: list[str], new: set[str]) -> None:
        """Tokenize on its own each chunk not seen yet (``new``, of ``chunks``: ``text.split()``) and
        whitespace chunk of ``text`` not seen yet: spaCy caches it then (see the module docstring),
        where inside ``text`` it might not."""
        primed = self._primed
        new.update(chunk for chunk in _whitespace_chunks(text, chunks) if chunk not in primed)
        if new:
            tokenize, rules = self.tokenizer, self.tokenizer.rules
            # chunks that meet no special case go in one text (one Doc, not one each): no special case stops
            # spaCy caching them; the others (any of the strings spaCy looks up may be one) go alone
            plain = [chunk for chunk in new if _meets_no_special(chunk, rules)]
            if plain:
                tokenize(" ".join(plain))
            if len(plain) < len(new):
                for chunk in new.difference(plain):
                    tokenize(chunk)
            primed.update(new)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_primed"] = set()  # what this process primed: its own cache's business
        return state

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    def _in_pieces(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []

        def plain(chunk: str) -> None:
            if chunk:
                for t in self.tokenizer(chunk):
                    words.append(t.text)
                    spaces.append(bool(t.whitespace_))

        pos = 0
        for m in self._long_run.finditer(text):
            start, end = m.span()
            plain(text[pos:start])  # ends in whitespace (the run is maximal): same tokens as in the whole text
            for i in range(start, end, self.piece):
                for t in self.tokenizer(text[i:min(i + self.piece, end)]):
                    words.append(t.text)
                    spaces.append(False)
            pos = end
            if end < len(text) and text[end] == " ":  # one space after a token is that token's
                spaces[-1] = True
                pos = end + 1
        plain(text[pos:])
        doc = Doc(self.tokenizer.vocab, words=words, spaces=spaces)
        if len(doc.text) != len(text):  # pragma: no cover - a tokenizer that drops characters
            raise ValueError("tokenizer pieces do not rebuild the text")
        return doc

    # serialization and everything else: the wrapped tokenizer's
    def to_disk(self, path, **kwargs):
        return self.tokenizer.to_disk(path, **kwargs)

    def from_disk(self, path, **kwargs):
        self.tokenizer.from_disk(path, **kwargs)
        _leave_out_matcher_only_specials(self.tokenizer)  # a pipeline saved with them
        return self

    def to_bytes(self, **kwargs):
        return self.tokenizer.to_bytes(**kwargs)

    def from_bytes(self, data, **kwargs):
        self.tokenizer.from_bytes(data, **kwargs)
        _leave_out_matcher_only_specials(self.tokenizer)
        return self

    def __getattr__(self, name):  # vocab, explain, rules ... of the wrapped tokenizer
        if name == "tokenizer":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


def matcher_only_specials(tokenizer: Tokenizer, rules: dict) -> list[str]:
    """The special cases of ``rules`` that change no token of ``tokenizer``'s (see the module
    docstring): a string with a space in it (so spaCy tries it with its special-case matcher) that
    the affix pass leaves whole (no prefix, suffix or infix) and that the rule makes one token with
    nothing but its ORTH. English has one: " "."""
    return [string for string, tokens in rules.items()
            if " " in string and len(tokens) == 1 and intify_attrs(dict(tokens[0])) == {ORTH: string}
            and not (tokenizer.find_prefix(string) or tokenizer.find_suffix(string) or tokenizer.find_infix(string))]


def _leave_out_matcher_only_specials(tokenizer: Tokenizer) -> None:
    rules = tokenizer.rules
    if drop := set(matcher_only_specials(tokenizer, rules)):
        tokenizer.rules = {string: tokens for string, tokens in rules.items() if string not in drop}


def spacy_tokenizer(nlp) -> Tokenizer:
    """The language's default tokenizer as spaCy's "spacy.Tokenizer.v1" makes it
    (``spacy.language.create_tokenizer``), less its :func:`matcher_only_specials` (its special cases
    read once), its suffix, infix and URL regexes searched as :mod:`notechecker.nlp.tokenizer_affixes` does
    (the same matches)."""
    d = nlp.Defaults
    tokenizer = Tokenizer(
        nlp.vocab,
        prefix_search=util.compile_prefix_regex(d.prefixes).search if d.prefixes else None,
        suffix_search=SuffixSearch(util.compile_suffix_regex(d.suffixes)).search if d.suffixes else None,
        infix_finditer=InfixFinditer(util.compile_infix_regex(d.infixes)).finditer if d.infixes else None,
        token_match=d.token_match,
        url_match=GatedMatch(url).match if isinstance(url := getattr(d.url_match, "__self__", None), re.Pattern)
        else d.url_match,
    )
    rules = d.tokenizer_exceptions
    drop = set(matcher_only_specials(tokenizer, rules))
    tokenizer.rules = {string: tokens for string, tokens in rules.items() if string not in drop}
    return tokenizer


@registry.tokenizers("notechecker.Tokenizer.v1")
def create_tokenizer(max_run: int = MAX_RUN, piece: int = PIECE):
    """The language's default tokenizer (:func:`spacy_tokenizer`), wrapped in :class:`NoteTokenizer`; the
    vocabulary's lexeme attributes read by :mod:`notechecker.nlp.tokenizer_lexemes` (the same values)."""

    def make(nlp):
        tokenizer_lexemes.install(nlp.vocab)
        return NoteTokenizer(spacy_tokenizer(nlp), max_run=max_run, piece=piece)

    return make
