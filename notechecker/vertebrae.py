"""One vertebra model, occiput to ilium: order, regions, spans and interspaces.

Pure standard library, no spaCy: coding, scoring and the operation model do their
level arithmetic here. ``occiput`` is the top of an occipitocervical construct; the
``ilium`` (pelvic fixation beyond the sacrum) sorts after S5 but is not a vertebral
segment, so spans and interspaces never include it.
"""
from __future__ import annotations

from typing import Iterable, Sequence

__all__ = [
    "OCCIPUT", "PELVIS", "VERTEBRAE", "ORDER", "SPINE_REGIONS", "level_index", "order_index", "region_of",
    "regions", "span_with_pelvis", "sort_levels", "span",
    "segments", "interspaces", "interspace_region", "contiguous_groups", "fmt_levels", "fmt_pairs",
]

OCCIPUT = "occiput"
PELVIS = "ilium"
#: Vertebrae cephalad to caudal (occiput first; the ilium is not a vertebra).
VERTEBRAE: tuple[str, ...] = ((OCCIPUT,) + tuple(f"C{i}" for i in range(1, 8)) + tuple(f"T{i}" for i in range(1, 13))
                              + tuple(f"L{i}" for i in range(1, 6)) + tuple(f"S{i}" for i in range(1, 6)))
#: Every name the model orders: the vertebrae, then the ilium.
ORDER: tuple[str, ...] = VERTEBRAE + (PELVIS,)
_INDEX = {v: i for i, v in enumerate(VERTEBRAE)}
_ORDER_INDEX = {v: i for i, v in enumerate(ORDER)}
_REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
#: The spine's regions, cephalad to caudal (a note's regions; the ilium counts with the sacrum).
SPINE_REGIONS = ("cervical", "thoracic", "lumbar", "sacral")


def level_index(level: str) -> int | None:
    """Position of a vertebra cephalad to caudal (None for the ilium and unknown names)."""
    return _INDEX.get(level)


def region_of(level: str) -> str | None:
    """``cervical``, ``thoracic``, ``lumbar``, ``sacral`` or ``pelvis`` (ilium); occiput is cervical."""
    if level == PELVIS:
        return "pelvis"
    if level == OCCIPUT:
        return "cervical"
    return _REGION.get(level[:1]) if level in _INDEX else None


def order_index(level: str) -> int | None:
    """Position in :data:`ORDER` (occiput first, the ilium after S5); None for unknown names."""
    return _ORDER_INDEX.get(level)


def regions(levels: Iterable[str]) -> tuple[str, ...]:
    """The spine regions of ``levels`` in :data:`SPINE_REGIONS` order: the one definition of a note's
    regions. The occiput is cervical; pelvic fixation (the ilium) is sacropelvic, so it counts as sacral."""
    found = {"sacral" if r == "pelvis" else r for r in (region_of(x) for x in levels) if r}
    return tuple(r for r in SPINE_REGIONS if r in found)


def span_with_pelvis(levels: Iterable[str]) -> tuple[str, ...]:
    """The vertebrae spanned, the ilium kept last; a span to the ilium runs at least through S1."""
    levels = set(levels)
    bones = span(levels)
    if PELVIS not in levels:
        return bones
    if not bones:
        return (PELVIS,)
    if _INDEX[bones[-1]] < _INDEX["S1"]:
        bones = span(bones + ("S1",))
    return bones + (PELVIS,)


def sort_levels(levels: Iterable[str]) -> tuple[str, ...]:
    """Known vertebrae, unique, cephalad to caudal (ilium and unknown names dropped)."""
    return tuple(sorted({lv for lv in levels if lv in _INDEX}, key=_INDEX.__getitem__))


def span(levels: Iterable[str]) -> tuple[str, ...]:
    """Every vertebra from the most cephalad to the most caudal of ``levels``."""
    idx = [_INDEX[lv] for lv in levels if lv in _INDEX]
    return VERTEBRAE[min(idx):max(idx) + 1] if idx else ()


def segments(levels: Iterable[str]) -> int:
    """Vertebral segments spanned (a segment is one vertebra: L1-L3 is three)."""
    return len(span(levels))


def interspaces(levels: Iterable[str] = (), pairs: Iterable[Sequence[str]] = ()) -> tuple[tuple[str, str], ...]:
    """Disc spaces: the given pairs when any are valid, else those between the spanned vertebrae."""
    out = []
    for pair in pairs:
        if len(pair) == 2 and pair[0] in _INDEX and pair[1] in _INDEX:
            a, b = sorted(pair, key=_INDEX.__getitem__)
            s = span((a, b))
            out.extend(zip(s, s[1:]))
    if out:
        return tuple(sorted(set(out), key=lambda p: _INDEX[p[0]]))
    lv = span(levels)
    return tuple(zip(lv, lv[1:]))


def interspace_region(pair: tuple[str, str]) -> str | None:
    """Region used to pick a fusion or arthroplasty code for one interspace.

    C7-T1 is cervical (the region of its upper vertebra); occiput-C1 is
    occipitocervical and C1-C2 atlantoaxial.
    """
    a, b = pair
    if a == OCCIPUT:
        return "occipitocervical"
    if (a, b) == ("C1", "C2"):
        return "atlantoaxial"
    return region_of(a)


def contiguous_groups(levels: Iterable[str]) -> list[tuple[str, ...]]:
    """Runs of adjacent vertebrae (one corpectomy defect per run)."""
    groups: list[list[str]] = []
    for lv in sort_levels(levels):
        if groups and _INDEX[lv] - _INDEX[groups[-1][-1]] == 1:
            groups[-1].append(lv)
        else:
            groups.append([lv])
    return [tuple(g) for g in groups]


def fmt_levels(levels: Sequence[str], unknown: str = "levels not stated") -> str:
    """``L3-L5`` for a run, ``L4`` for one vertebra, ``unknown`` when none."""
    lv = [x for x in levels if x]
    if not lv:
        return unknown
    return lv[0] if len(lv) == 1 else f"{lv[0]}-{lv[-1]}"


def fmt_pairs(pairs: Sequence[tuple[str, str]], unknown: str = "interspaces not stated") -> str:
    return ", ".join(f"{a}-{b}" for a, b in pairs) or unknown
