"""Synthetic free-text lumbar spine MRI reports with known stenosis labels.

The generator turns per-level stenosis grades into a realistic radiology
report written in one of several styles (level-by-level headings, narrative
paragraphs, telegraphic notes, etiology prose, structured templates, or an
impression-centred report).  It is meant to benchmark a report parser on
thousands of reports and to attach a report to synthetic imaging studies.

Every report carries ``labels``: the grades a careful human annotator would
read off the *text* under these rules:

* 0 normal (normal, unremarkable, patent, no, without, no significant ...);
  1 mild/minimal/slight; 2 moderate, including mild-to-moderate; 3 severe,
  including moderate-to-severe, moderately severe, marked, high-grade, critical.
* "bilateral" gives both foramina the same grade.
* A range with a side comparison ("mild to moderate bilateral foraminal
  narrowing, right greater than left") gives the greater side the upper grade
  and the lesser side the lower grade (only used when they differ by one).
* A generic "no stenosis" at a level means all three slots are 0.
* "The remaining levels are normal" means 0 for every slot of every level not
  otherwise discussed (only written when no slot is unknown).
* A stenosis stated without a severity word is ungraded: label ``None``.
* A slot the text never states is ``None``.

Statements in the clinical history / technique sections (which may mention
levels and severities) are not findings and never contribute to labels.

Only the standard library is used; all randomness flows through the
``random.Random`` instance passed in, so output is deterministic per seed.
"""

from __future__ import annotations

import logging
import random
import string
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = [
    "STYLES",
    "Grades",
    "SyntheticReport",
    "random_grades",
    "write_report",
    "generate",
]

from spinecore.schema import LEVELS, LOCATIONS

logger = logging.getLogger(__name__)

Grades = dict[str, dict[str, int | None]]

STYLES: tuple[str, ...] = (
    "inline_headings",
    "stacked_headings",
    "narrative",
    "terse",
    "prose_etiology",
    "impression_detailed",
    "structured",
)

#: Internal marker for a slot that the text states without a severity word.
_UNGRADED = -1

_SIDE_LOC = {"right": "rfs", "left": "lfs"}
_OTHER_SIDE = {"right": "left", "left": "right"}


@dataclass(frozen=True)
class SyntheticReport:
    """A generated report.

    Attributes:
        text: The full free-text report.
        style: Name of the style used (one of :data:`STYLES`).
        labels: Grades determined by the text (level -> location -> 0..3 or
            ``None`` where the text is silent or gives no severity).
    """

    text: str
    style: str
    labels: Grades


# ---------------------------------------------------------------------------
# Grade sampling
# ---------------------------------------------------------------------------

# Relative propensity of each level to be stenotic.
_CANAL_WEIGHT = {"T12-L1": 0.08, "L1-L2": 0.14, "L2-L3": 0.3, "L3-L4": 0.58, "L4-L5": 1.0, "L5-S1": 0.42}
_FORAMEN_WEIGHT = {"T12-L1": 0.06, "L1-L2": 0.12, "L2-L3": 0.28, "L3-L4": 0.55, "L4-L5": 0.9, "L5-S1": 1.0}


def _sample_grade(rng: random.Random, d: float) -> int:
    """Sample one grade for a degeneration propensity ``d`` (about 0..1.3)."""
    p1 = 0.5 * d
    p2 = 0.3 * d**1.6
    p3 = 0.13 * d**2.2
    total = p1 + p2 + p3
    if total > 0.95:
        p1, p2, p3 = (p * 0.95 / total for p in (p1, p2, p3))
    r = rng.random()
    if r < p3:
        return 3
    if r < p3 + p2:
        return 2
    if r < p3 + p2 + p1:
        return 1
    return 0


def random_grades(rng: random.Random, *, p_normal_study: float = 0.15) -> Grades:
    """Draw a realistic set of per-level stenosis grades.

    Most slots are 0 or 1, fewer 2 and few 3; stenosis is commonest at L4-L5,
    L5-S1 and L3-L4.  With probability ``p_normal_study`` the whole study is
    normal.  Left and right foramina are positively correlated.

    Args:
        rng: Source of randomness.
        p_normal_study: Probability that every slot is 0.

    Returns:
        A complete :data:`Grades` mapping (no ``None`` values).
    """
    if rng.random() < p_normal_study:
        return {lv: {loc: 0 for loc in LOCATIONS} for lv in LEVELS}
    burden = rng.uniform(0.25, 1.35)
    grades: Grades = {}
    for lv in LEVELS:
        canal = _sample_grade(rng, burden * _CANAL_WEIGHT[lv])
        d_f = burden * _FORAMEN_WEIGHT[lv]
        right = _sample_grade(rng, d_f)
        if rng.random() < 0.55:
            left = right
        elif rng.random() < 0.5 and right > 0:
            left = max(0, min(3, right + rng.choice((-1, 1))))
        else:
            left = _sample_grade(rng, d_f)
        grades[lv] = {"scs": canal, "rfs": right, "lfs": left}
    return grades


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _wchoice(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    """Weighted choice over ``(value, weight)`` pairs."""
    total = sum(w for _, w in options)
    r = rng.random() * total
    acc = 0.0
    for value, weight in options:
        acc += weight
        if r < acc:
            return value
    return options[-1][0]


#: Noun phrases of a graded foraminal unit (one foramen, or both) as ladders of (upper bound of one draw, template);
#: the fields besides {a} (severity) and {side} are made in reading order by ``_Voice.fill``.
_FORAMEN_PHRASES: dict[str, tuple[tuple[float, str], ...]] = {
    "one": ((0.55, "{a} {side} {fadj} {noun}"), (0.77, "{a} narrowing of the {side} {fnoun}"),
            (0.92, "{a} {fadj} {noun} on the {side}"), (1.0, "{a} {side}-sided {fadj} {noun}")),
    "bi": ((0.45, "{a} bilateral {fadj} {noun}"), (0.65, "{a} {fadj} {noun} bilaterally"),
           (0.85, "{a} narrowing of both {fnouns}"), (1.0, "{a} narrowing of the {fnouns} bilaterally")),
}


def _ladder(rng: random.Random, ladder: Sequence[tuple[float, Callable[[], str]]]) -> str:
    """The phrase of the rung of ``ladder`` (``(upper bound, make)`` pairs, bounds rising to 1) where one draw of
    ``rng`` falls; only that rung's ``make`` runs, so only it draws further."""
    r = rng.random()
    return next((make for bound, make in ladder if r < bound), ladder[-1][1])()


def _per_kind(u: "_Unit", canal: Callable[[], str], one: Callable[[], str], both: Callable[[], str]) -> str:
    """The phrase of the unit's kind: the canal, one foramen, or both foramina; only that one is made (draws)."""
    return (canal if u.kind == "canal" else one if u.kind == "one" else both)()


def _graded_levels_sentence(v: "_Voice", groups: Sequence[tuple[int, list[str]]], rng: random.Random, *,
                            canal: bool) -> str:
    """One sentence for several grades, each with its levels, of the canal or (``canal`` false) of both foramina:
    "moderate canal stenosis at L3-4 and severe at L4-5" or "Canal stenosis is moderate at L3-4 and severe at
    L4-5"."""
    def subject() -> str:
        return f"{v.canal()} {v.noun()}" if canal else f"bilateral {v.fadj()} {v.noun(foramen=True)}"

    if rng.random() < 0.5:
        parts = []
        for j, (g, lvs) in enumerate(groups):
            a = v.adj(g, canal=canal)
            parts.append(f"{a} {subject()} at {v.levels_phrase(lvs)}" if j == 0 else f"{a} at {v.levels_phrase(lvs)}")
        return _cap(_join(parts, rng)) + "."
    parts = [f"{v.adj(g, canal=canal)} at {v.levels_phrase(lvs)}" for g, lvs in groups]
    return f"{_cap(subject())} is {_join(parts, rng)}."


def _cap(text: str) -> str:
    """Capitalise the first character only."""
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str], rng: random.Random, conj: str = "and") -> str:
    """Join phrases as an English list ("a, b, and c")."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conj} {items[1]}"
    comma = "," if rng.random() < 0.5 else ""
    return ", ".join(items[:-1]) + f"{comma} {conj} " + items[-1]


def _contiguous(levels: Sequence[str]) -> bool:
    """True if ``levels`` are consecutive entries of :data:`LEVELS`."""
    idx = [LEVELS.index(lv) for lv in levels]
    return all(b == a + 1 for a, b in zip(idx, idx[1:]))


def _strip_article(np: str) -> str:
    for art in ("a ", "an "):
        if np.startswith(art):
            return np[len(art):]
    return np


_LEVEL_FMTS = (
    ("dash_short", 34.0),
    ("dash_full", 30.0),
    ("slash_short", 12.0),
    ("slash_full", 8.0),
    ("endash_short", 11.0),
    ("endash_full", 5.0),
)


def _format_level(level: str, fmt: str) -> str:
    """Spell a level: L4-5, L4-L5, L4/5, L4/L5, L4\u20135, L5-S1, T12-L1 ..."""
    upper, lower = level.split("-")
    sep = {"dash": "-", "slash": "/", "endash": "\u2013"}[fmt.split("_")[0]]
    if fmt.endswith("short") and upper[0] == lower[0]:
        lower = lower[1:]
    return f"{upper}{sep}{lower}"


# ---------------------------------------------------------------------------
# Units: what a report says about a level's canal / foramina
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """One statement about a level.

    kind: ``canal`` (value), ``one`` (one foramen: side, value), ``bi`` (both
    foramina, same value), ``cmp`` (range with side comparison: value is the
    upper grade, side the greater side) or ``split`` (both foramina with
    different positive grades, ``pairs``).
    """

    kind: str
    value: int = 0
    side: str = ""
    pairs: tuple[tuple[str, int], ...] = ()

    @property
    def locs(self) -> tuple[str, ...]:
        if self.kind == "canal":
            return ("scs",)
        if self.kind == "one":
            return (_SIDE_LOC[self.side],)
        return ("rfs", "lfs")

    @property
    def zero(self) -> bool:
        return self.kind in ("canal", "one", "bi") and self.value == 0

    @property
    def ungraded(self) -> bool:
        return self.kind in ("canal", "one", "bi") and self.value == _UNGRADED

    @property
    def positive(self) -> bool:
        return not self.zero and not self.ungraded

    @property
    def complex(self) -> bool:
        return self.kind in ("cmp", "split")


def _level_units(
    vals: dict[str, int | None], rng: random.Random, *, allow_cmp: bool = True, allow_split: bool = True
) -> list[_Unit]:
    """Decompose a level's stated values into units (canal first)."""
    units: list[_Unit] = []
    if vals["scs"] is not None:
        units.append(_Unit("canal", vals["scs"]))
    r, lf = vals["rfs"], vals["lfs"]
    if r is None and lf is None:
        return units
    if r is None:
        units.append(_Unit("one", lf, "left"))  # type: ignore[arg-type]
    elif lf is None:
        units.append(_Unit("one", r, "right"))
    elif r == lf:
        units.append(_Unit("bi", r))
    elif _UNGRADED in (r, lf) or 0 in (r, lf):
        pair = [_Unit("one", r, "right"), _Unit("one", lf, "left")]
        if rng.random() < 0.2:
            pair.reverse()
        units.extend(pair)
    else:
        hi, lo = max(r, lf), min(r, lf)
        greater = "right" if r > lf else "left"
        x = rng.random()
        if allow_cmp and hi - lo == 1 and x < 0.35:
            units.append(_Unit("cmp", hi, greater))
        elif allow_split and x < 0.75:
            if rng.random() < 0.5:
                pairs = (("right", r), ("left", lf))
            else:
                pairs = ((greater, hi), (_OTHER_SIDE[greater], lo))
            units.append(_Unit("split", 0, "", pairs))
        else:
            units.extend([_Unit("one", r, "right"), _Unit("one", lf, "left")])
    return units


# Severity vocabulary ---------------------------------------------------------

_ADJ: dict[int, tuple[tuple[str, float], ...]] = {
    1: (("mild", 8.0), ("minimal", 1.5), ("slight", 1.0)),
    2: (("moderate", 8.0), ("mild to moderate", 1.5), ("mild-to-moderate", 0.5), ("mild-moderate", 0.8)),
    3: (
        ("severe", 7.0),
        ("moderate to severe", 1.3),
        ("moderate-severe", 0.6),
        ("moderately severe", 0.8),
        ("marked", 0.8),
        ("high-grade", 0.6),
        ("critical", 0.5),
    ),
}
_SIMPLE_ADJ = {"mild", "minimal", "slight", "moderate", "severe", "moderately severe", "marked"}
_ADV: dict[int, tuple[tuple[str, float], ...]] = {
    1: (("mildly", 6.0), ("minimally", 1.0), ("slightly", 1.0)),
    2: (("moderately", 7.0), ("mildly to moderately", 1.0)),
    3: (("severely", 6.0), ("markedly", 1.5), ("moderately to severely", 0.7), ("critically", 0.4)),
}
_CANAL_ONLY = {"critical", "critically"}
_RANGE_WORD = {2: "mild to moderate", 3: "moderate to severe"}


@dataclass(frozen=True)
class _Dx:
    """A distractor finding (does not affect labels)."""

    np: str  # with article where needed, lower-case start
    plural: bool
    terse: str
    cause: bool = True  # plausible cause of canal/foraminal narrowing


class _Voice:
    """Per-report wording preferences and phrase builders.

    Also records which (level, location) slots the rendered text states, so
    that :func:`write_report` can verify that labels match the text.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.level_fmt = _wchoice(rng, _LEVEL_FMTS)
        self.canal_pref = _wchoice(
            rng, (("spinal canal", 4.0), ("central canal", 5.0), ("central spinal canal", 1.5), ("canal", 1.5))
        )
        self.fadj_pref = _wchoice(rng, (("neural foraminal", 6.0), ("foraminal", 3.0), ("neuroforaminal", 1.0)))
        self.fnoun_pref = _wchoice(rng, (("neural foramen", 6.0), ("neuroforamen", 1.0), ("foramen", 2.0)))
        self.noun_pref = _wchoice(rng, (("stenosis", 5.0), ("narrowing", 5.0)))
        self.p_lsj = rng.choice((0.0, 0.0, 0.25, 0.5))
        self.covered: set[tuple[str, str]] = set()
        self.extra_impression: list[str] = []

    # -- coverage ---------------------------------------------------------
    def cover(self, level: str, units: Sequence[_Unit]) -> None:
        for u in units:
            for loc in u.locs:
                self.covered.add((level, loc))

    def cover_level(self, level: str) -> None:
        for loc in LOCATIONS:
            self.covered.add((level, loc))

    # -- vocabulary -------------------------------------------------------
    def _pref(self, pref: str, options: Sequence[tuple[str, float]], p: float = 0.7) -> str:
        return pref if self.rng.random() < p else _wchoice(self.rng, options)

    def canal(self) -> str:
        return self._pref(
            self.canal_pref,
            (("spinal canal", 4.0), ("central canal", 5.0), ("central spinal canal", 1.5), ("canal", 1.5)),
        )

    def fadj(self) -> str:
        return self._pref(self.fadj_pref, (("neural foraminal", 6.0), ("foraminal", 3.0), ("neuroforaminal", 1.0)))

    def fnoun(self, plural: bool = False) -> str:
        noun = self._pref(self.fnoun_pref, (("neural foramen", 6.0), ("neuroforamen", 1.0), ("foramen", 2.0)))
        if plural:
            return noun[: -len("foramen")] + "foramina"
        return noun

    def noun(self, foramen: bool = False) -> str:
        opts: list[tuple[str, float]] = [("stenosis", 5.0), ("narrowing", 5.0), ("compromise", 0.6)]
        if foramen:
            opts.append(("encroachment", 0.5))
        return self._pref(self.noun_pref, opts, p=0.65)

    def adj(self, grade: int, *, canal: bool = False, simple: bool = False) -> str:
        opts = [
            (w, p)
            for w, p in _ADJ[grade]
            if (canal or w not in _CANAL_ONLY) and (not simple or w in _SIMPLE_ADJ)
        ]
        return _wchoice(self.rng, opts)

    def adv(self, grade: int, *, canal: bool = False) -> str:
        opts = [(w, p) for w, p in _ADV[grade] if canal or w not in _CANAL_ONLY]
        return _wchoice(self.rng, opts)

    # -- levels -----------------------------------------------------------
    def lvl(self, level: str) -> str:
        fmt = self.level_fmt if self.rng.random() > 0.04 else _wchoice(self.rng, _LEVEL_FMTS)
        return _format_level(level, fmt)

    def lvl_ref(self, level: str) -> str:
        """A level reference usable after a preposition ("at ...")."""
        if level == "L5-S1" and self.rng.random() < self.p_lsj:
            return "the lumbosacral junction"
        r = self.rng.random()
        if r < 0.75:
            return self.lvl(level)
        if r < 0.92:
            return f"the {self.lvl(level)} level"
        return f"the {self.lvl(level)} disc level"

    def levels_phrase(self, levels: Sequence[str], conj: str = "and") -> str:
        """A list or range of levels ("L3-4 and L4-5", "L1-2 through L3-4")."""
        if len(levels) == 1:
            return self.lvl_ref(levels[0])
        refs = [_format_level(lv, self.level_fmt) for lv in levels]
        p_range = 0.7 if len(levels) >= 3 else 0.25
        if _contiguous(levels) and self.rng.random() < p_range:
            word = self.rng.choice(("through", "through", "to"))
            return f"{refs[0]} {word} {refs[-1]}"
        return _join(refs, self.rng, conj)

    # -- positive findings ------------------------------------------------
    def fill(self, template: str, **given: str) -> str:
        """``template`` with ``given`` and its other fields (foraminal adjective ``fadj``, stenosis noun ``noun``,
        foramen noun ``fnoun`` / ``fnouns``) made in reading order, as an f-string would draw them."""
        makers = {"fadj": self.fadj, "noun": lambda: self.noun(foramen=True), "fnoun": self.fnoun,
                  "fnouns": lambda: self.fnoun(plural=True)}
        made = {f: makers[f]() for _, f, _, _ in string.Formatter().parse(template) if f and f not in given}
        return template.format(**given, **made)

    def np_parts(self, u: _Unit, *, joined: bool = False) -> tuple[str, str]:
        """Noun phrase for a positive graded unit as (head, tail)."""
        rng = self.rng
        if u.kind == "canal":
            a = self.adj(u.value, canal=True)
            if rng.random() < 0.72:
                return f"{a} {self.canal()} {self.noun()}", ""
            n = rng.choice(("narrowing", "stenosis", "compromise"))
            return f"{a} {n} of the {self.canal()}", ""
        if u.kind in _FORAMEN_PHRASES:
            a = self.adj(u.value)
            r = rng.random()
            return self.fill(next(t for bound, t in _FORAMEN_PHRASES[u.kind] if r < bound), a=a, side=u.side), ""
        if u.kind == "cmp":
            word = _RANGE_WORD[u.value]
            if rng.random() < 0.15:
                word = word.replace(" ", "-")
            g, lesser = u.side, _OTHER_SIDE[u.side]
            comp = rng.choice(
                (
                    f"{g} greater than {lesser}",
                    f"{g} greater than {lesser}",
                    f"{g} worse than {lesser}",
                    f"{g} more than {lesser}",
                    f"{g} > {lesser}",
                )
            )
            if rng.random() < 0.65:
                return f"{word} bilateral {self.fadj()} {self.noun(foramen=True)}", f", {comp}"
            return f"{word} {self.fadj()} {self.noun(foramen=True)} bilaterally", f", {comp}"
        # split
        (s1, v1), (s2, v2) = u.pairs
        a1, a2 = self.adj(v1, simple=True), self.adj(v2, simple=True)
        if joined or rng.random() < 0.6:
            return f"{a1} {s1} and {a2} {s2} {self.fadj()} {self.noun(foramen=True)}", ""
        return f"{self.fadj()} {self.noun(foramen=True)}", f", {a1} on the {s1} and {a2} on the {s2}"

    def np(self, u: _Unit, *, joined: bool = False) -> str:
        head, tail = self.np_parts(u, joined=joined)
        return head + tail

    def join_np(self, units: Sequence[_Unit]) -> tuple[str, str]:
        """Join positive units into one noun phrase (head, tail)."""
        units = sorted(units, key=lambda u: u.complex)  # complex one last
        joined = len(units) > 1
        parts = [self.np(u, joined=joined) for u in units[:-1]]
        head, tail = self.np_parts(units[-1], joined=joined)
        return _join(parts + [head], self.rng), tail

    def sent_pos(self, u: _Unit) -> str:
        """A sentence stating one positive graded unit."""
        rng = self.rng
        r = rng.random()
        if u.kind == "cmp" or r < 0.28:
            return f"There is {self.np(u)}."
        if r < 0.52:
            return f"{_cap(self.np(u))}."
        if r < 0.68:
            head, tail = self.np_parts(u)
            verb = rng.choice(("present", "noted", "seen", "demonstrated"))
            return f"{_cap(head)} is {verb}{tail}."
        state = rng.choice(("narrowed", "narrowed", "stenotic"))
        if u.kind == "canal":
            return f"The {self.canal()} is {self.adv(u.value, canal=True)} {state}."
        if u.kind == "one":
            return f"The {u.side} {self.fnoun()} is {self.adv(u.value)} {state}."
        if u.kind == "bi":
            if rng.random() < 0.5:
                return f"Both {self.fnoun(plural=True)} are {self.adv(u.value)} narrowed."
            return f"The {self.fnoun(plural=True)} are {self.adv(u.value)} narrowed bilaterally."
        (s1, v1), (s2, v2) = u.pairs
        if rng.random() < 0.5:
            noun = self.fnoun()
            return f"The {s1} {noun} is {self.adv(v1)} narrowed and the {s2} {noun} is {self.adv(v2)} narrowed."
        a1, a2 = self.adj(v1, simple=True), self.adj(v2, simple=True)
        return f"{_cap(self.fadj())} {self.noun(foramen=True)} is {a1} on the {s1} and {a2} on the {s2}."

    def joined_sentence(self, units: Sequence[_Unit]) -> str:
        """One sentence stating several positive units."""
        head, tail = self.join_np(units)
        return _ladder(self.rng, ((0.4, lambda: f"There is {head}{tail}."), (0.8, lambda: f"{_cap(head)}{tail}."),
                                  (1.0, lambda: f"{_cap(head)} {'are' if len(units) > 1 else 'is'} present{tail}.")))

    # -- ungraded ---------------------------------------------------------
    def ungraded_np(self, u: _Unit) -> str:
        def noun() -> str:
            return self.rng.choice(("stenosis", "narrowing"))

        return _per_kind(u, lambda: f"{self.canal()} {noun()}", lambda: f"{u.side} {self.fadj()} {noun()}",
                         lambda: f"bilateral {self.fadj()} {noun()}")

    def sent_ungraded(self, u: _Unit) -> str:
        return _ladder(self.rng, (
            (0.4, lambda: f"There is {self.ungraded_np(u)}."),
            (0.7, lambda: f"{_cap(self.ungraded_np(u))} is present."),
            (1.0, lambda: _per_kind(u, lambda: f"The {self.canal()} is narrowed.",
                                    lambda: f"The {u.side} {self.fnoun()} is narrowed.",
                                    lambda: f"Both {self.fnoun(plural=True)} are narrowed."))))

    # -- negatives --------------------------------------------------------
    def bare(self, u: _Unit) -> str:
        """Bare noun phrase for use after "no"/"without"."""
        return _per_kind(u, lambda: f"{self.canal()} {self.noun()}",
                         lambda: f"{u.side} {self.fadj()} {self.noun(foramen=True)}",
                         lambda: f"{self.fadj()} {self.noun(foramen=True)}")

    def compact_all(self) -> str:
        """"spinal canal or neural foraminal stenosis" (all three slots)."""
        return f"{self.canal()} or {self.fadj()} {self.noun()}"

    def sent_neg(self, u: _Unit) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            lead = _wchoice(rng, (("No", 4.0), ("There is no", 2.0), ("No significant", 2.0), ("No evidence of", 1.0)))
            return f"{lead} {self.bare(u)}."
        if u.kind == "canal":
            pred = _wchoice(
                rng,
                (
                    ("patent", 4.0),
                    ("not significantly narrowed", 1.5),
                    ("normal in caliber", 1.5),
                    ("widely patent", 0.7),
                ),
            )
            return f"The {self.canal()} is {pred}."
        if u.kind == "one":
            pred = rng.choice(("patent", "patent", "not significantly narrowed", "normal"))
            return f"The {u.side} {self.fnoun()} is {pred}."
        pred = rng.choice(("patent", "patent", "not significantly narrowed", "unremarkable"))
        subj = rng.choice(("The", "The", "Both")) if pred == "patent" else "The"
        return f"{subj} {self.fnoun(plural=True)} are {pred}."

    def neg_group(self, zeros: Sequence[_Unit]) -> str:
        """One sentence negating several zero units."""
        rng = self.rng
        kinds = {u.kind for u in zeros}
        if kinds == {"canal", "bi"}:
            if rng.random() < 0.2:
                return f"The {self.canal()} and {self.fnoun(plural=True)} are patent."
            lead = _wchoice(
                rng,
                (("No", 4.0), ("There is no", 2.0), ("No significant", 2.0), ("No evidence of", 1.0),
                 ("Negative for", 0.7)),
            )
            return f"{lead} {self.compact_all()}."
        lead = _wchoice(rng, (("No", 3.0), ("There is no", 2.0), ("No significant", 1.0)))
        return f"{lead} {' or '.join(self.bare(u) for u in zeros)}."

    def without(self, zeros: Sequence[_Unit]) -> str:
        kinds = {u.kind for u in zeros}
        sig = "significant " if self.rng.random() < 0.3 else ""
        if kinds == {"canal", "bi"}:
            return f"without {sig}{self.compact_all()}"
        return f"without {sig}" + " or ".join(self.bare(u) for u in zeros)

    def zero_sentences(self, zeros: Sequence[_Unit]) -> list[str]:
        if len(zeros) >= 2 and self.rng.random() < 0.6:
            return [self.neg_group(zeros)]
        return [self.sent_neg(u) for u in zeros]

    def level_normal(self, *, after_findings: bool = False) -> str:
        """Sentence for a level whose three slots are all 0 (heading context).

        ``after_findings``: the level already has other (distractor) findings,
        so bare "Unremarkable." / "Normal." would read oddly.
        """
        c, f = self.canal(), self.fadj()
        w_bare = 0.0 if after_findings else 1.0
        return _wchoice(
            self.rng,
            (
                ("No stenosis.", 3.0),
                ("Unremarkable.", 2.0 * w_bare),
                ("Normal.", 1.0 * w_bare),
                ("No significant stenosis.", 1.0),
                (f"No {c} or {f} stenosis.", 3.0),
                (f"No significant {c} or {f} {self.noun()}.", 2.0),
                (f"The {c} and {self.fnoun(plural=True)} are patent.", 1.5),
                (f"Patent {c} and {self.fnoun(plural=True)}.", 0.7),
                (f"Negative for {c} or {f} stenosis.", 0.7),
                (f"No disc herniation, {c} stenosis, or {f} narrowing.", 1.0),
                ("No disc herniation or stenosis.", 0.7),
            ),
        )

    # -- distractors ------------------------------------------------------
    def distractors(self, level: str, vals: dict[str, int | None], *, abnormal: bool) -> list[_Dx]:
        """Non-stenosis findings for a level (0-3 of them)."""
        rng = self.rng
        upper, lower = level.split("-")
        pool: list[tuple[float, _Dx]] = []
        size = rng.choice(("small", "mild", "broad-based", "diffuse", "minimal", "circumferential"))
        pool.append((3.0 if abnormal else 1.0, _Dx(f"a {size} disc bulge", False, f"{size} disc bulge")))
        pool.append((2.0, _Dx("disc desiccation", False, "disc desiccation", cause=False)))
        dsn = rng.choice(("mild", "moderate", "mild"))
        dsn_np = f"{dsn} disc space narrowing"
        pool.append((1.5 if abnormal else 0.5, _Dx(dsn_np, False, dsn_np)))
        fsev = rng.choice(("mild", "moderate", "severe", "")) if abnormal else rng.choice(("mild", ""))
        fbil = rng.choice(("bilateral ", ""))
        facet = " ".join(x for x in (fsev, f"{fbil}facet arthropathy") if x)
        pool.append((2.5 if abnormal else 0.8, _Dx(facet, False, facet)))
        pool.append((0.6, _Dx("facet hypertrophy", False, "facet hypertrophy")))
        lf = rng.choice(("ligamentum flavum thickening", "ligamentum flavum hypertrophy"))
        pool.append((1.5 if abnormal else 0.2, _Dx(lf, False, lf)))
        fissure = rng.choice(("a small annular fissure", "an annular fissure"))
        pool.append((1.0, _Dx(fissure, False, "annular fissure", cause=False)))
        modic = rng.choice(("1", "2", "2"))
        modic_np = f"Modic type {modic} endplate changes"
        pool.append((0.8, _Dx(modic_np, True, f"type {modic} Modic changes", cause=False)))
        if vals["scs"] is not None:
            if rng.random() < 0.5:
                lr = f"{rng.choice(('mild', 'moderate'))} bilateral lateral recess narrowing"
            else:
                lr = f"mild narrowing of the {rng.choice(('right', 'left'))} lateral recess"
            pool.append((1.0 if abnormal else 0.3, _Dx(lr, False, lr, cause=False)))
        if abnormal:
            side = rng.choice(("right", "left"))
            prot = f"a {side} paracentral disc protrusion"
            if rng.random() < 0.6:
                prot += f" contacting the traversing {side} {lower} nerve root"
            pool.append((1.2, _Dx(prot, False, f"{side[0].upper()} paracentral protrusion")))
            pool.append((0.6, _Dx("endplate osteophytes", True, "endplate osteophytes")))
            for side in ("right", "left"):
                v = vals[_SIDE_LOC[side]]
                if v is not None and v >= 1:
                    np = f"a {side} foraminal disc protrusion"
                    if rng.random() < 0.5:
                        np += f" abutting the exiting {side} {upper} nerve root"
                    pool.append((0.4, _Dx(np, False, f"{side} foraminal protrusion")))
        if abnormal:
            k = _wchoice(rng, (("0", 1.0), ("1", 3.0), ("2", 3.0), ("3", 1.0)))
        else:
            k = _wchoice(rng, (("0", 6.0), ("1", 3.0), ("2", 0.5)))
        chosen: list[_Dx] = []
        for _ in range(int(k)):
            remaining = [(d.np, w) for w, d in pool if d not in chosen]
            if not remaining:
                break
            pick = _wchoice(rng, remaining)
            chosen.append(next(d for _, d in pool if d.np == pick))
        return chosen

    def dx_sentence(self, d: _Dx) -> str:
        r = self.rng.random()
        if r < 0.5:
            return f"{_cap(_strip_article(d.np))}."
        if r < 0.8:
            return f"There {'are' if d.plural else 'is'} {d.np}."
        return f"{_cap(_strip_article(d.np))} {'are' if d.plural else 'is'} noted."


# ---------------------------------------------------------------------------
# Plan: what a report will state
# ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the findings will state.

    stated: slot values the text will state (``_UNGRADED`` for a stenosis
        mentioned without a severity; ``None`` for silence).
    explicit: levels discussed explicitly, in order.
    summarized: fully normal levels covered only by a "remaining levels"
        sentence (empty unless that sentence is used).
    """

    stated: dict[str, dict[str, int | None]]
    explicit: list[str]
    summarized: list[str]

    def full_normal(self, level: str) -> bool:
        return all(self.stated[level][k] == 0 for k in LOCATIONS)

    def present(self, level: str) -> bool:
        return any(self.stated[level][k] is not None for k in LOCATIONS)


_OMIT_WEIGHT = {
    "inline_headings": 0.1,
    "stacked_headings": 0.1,
    "narrative": 0.15,
    "terse": 0.35,
    "prose_etiology": 0.15,
    "impression_detailed": 0.1,
    "structured": 0.05,
}
_REMAINING_WEIGHT = {
    "inline_headings": 0.3,
    "stacked_headings": 0.25,
    "narrative": 0.4,
    "terse": 0.3,
    "prose_etiology": 0.35,
    "impression_detailed": 0.4,
    "structured": 0.25,
}


def _make_plan(grades: Grades, style: str, rng: random.Random) -> _Plan:
    stated = {lv: dict(grades[lv]) for lv in LEVELS}
    # Occasionally mention one stenosis without a severity word.
    if rng.random() < 0.08:
        positives = [(lv, k) for lv in LEVELS for k in LOCATIONS if (stated[lv][k] or 0) >= 1]
        if positives:
            lv, k = rng.choice(positives)
            stated[lv][k] = _UNGRADED
    has_none = any(grades[lv][k] is None for lv in LEVELS for k in LOCATIONS)
    full_normal = [lv for lv in LEVELS if all(stated[lv][k] == 0 for k in LOCATIONS)]
    abnormal = [
        lv for lv in LEVELS if lv not in full_normal and any(stated[lv][k] is not None for k in LOCATIONS)
    ]
    modes: list[tuple[str, float]] = [("explicit", 1.0 - _REMAINING_WEIGHT[style] - _OMIT_WEIGHT[style])]
    if full_normal and not has_none:
        modes.append(("remaining", _REMAINING_WEIGHT[style]))
    if full_normal and abnormal:
        modes.append(("omit", _OMIT_WEIGHT[style]))
    mode = _wchoice(rng, modes)
    summarized: list[str] = []
    if mode == "remaining":
        p_sum = 0.8 if abnormal else 0.9
        summarized = [lv for lv in full_normal if rng.random() < p_sum]
        if not summarized:
            summarized = [full_normal[-1]]
    elif mode == "omit":
        for lv in full_normal:
            stated[lv] = {k: None for k in LOCATIONS}
    explicit = [
        lv for lv in LEVELS if lv not in summarized and any(stated[lv][k] is not None for k in LOCATIONS)
    ]
    logger.debug("plan style=%s mode=%s explicit=%s summarized=%s", style, mode, explicit, summarized)
    return _Plan(stated=stated, explicit=explicit, summarized=summarized)


def _remaining_sentence(v: _Voice, plan: _Plan, *, terse: bool = False) -> str:
    """Sentence summarising the levels in ``plan.summarized`` as normal (which it marks covered)."""
    for lv in plan.summarized:
        v.cover_level(lv)
    rng = v.rng
    if not plan.explicit:
        c, f = v.canal(), v.fadj()
        first, last = v.lvl(LEVELS[0]), v.lvl(LEVELS[-1])
        return _wchoice(
            rng,
            (
                (f"No {c} or {f} stenosis at any level.", 3.0),
                (f"There is no significant {c} or {f} {v.noun()} at any level.", 2.0),
                (f"No {c} or {f} stenosis from {first} through {last}.", 1.5),
                (f"All levels from {first} through {last} are unremarkable.", 1.0),
            ),
        )
    if terse:
        return _wchoice(
            rng,
            (
                ("Remaining levels: negative.", 2.0),
                ("Other levels: no stenosis.", 2.0),
                ("All other levels: unremarkable.", 1.0),
                ("Remaining levels: no stenosis.", 1.0),
            ),
        )
    c, f = v.canal(), v.fadj()
    return _wchoice(
        rng,
        (
            ("The remaining levels are unremarkable.", 3.0),
            ("The remaining levels are normal.", 1.5),
            ("All other levels are normal.", 1.0),
            ("No stenosis at the remaining levels.", 1.5),
            (f"No {c} or {f} stenosis at the remaining levels.", 1.5),
            ("The other levels are unremarkable.", 1.0),
            (f"The remaining disc levels demonstrate no {c} or {f} stenosis.", 1.0),
            ("No significant stenosis at the other levels.", 1.0),
        ),
    )


def _normal_runs(levels: Sequence[str]) -> list[list[str]]:
    """Split levels into runs of consecutive levels."""
    runs: list[list[str]] = []
    for lv in levels:
        if runs and LEVELS.index(lv) == LEVELS.index(runs[-1][-1]) + 1:
            runs[-1].append(lv)
        else:
            runs.append([lv])
    return runs


def _normal_group_sentence(v: _Voice, levels: Sequence[str]) -> str:
    """Prose sentence stating that ``levels`` (all fully normal) are normal."""
    rng = v.rng
    if len(levels) == 1:
        lv = levels[0]
        return _wchoice(
            rng,
            (
                (f"{v.lvl(lv)} is unremarkable.", 2.0),
                (f"The {v.lvl(lv)} level is normal.", 1.0),
                (f"No stenosis at {v.lvl_ref(lv)}.", 1.5),
                (f"There is no {v.compact_all()} at {v.lvl_ref(lv)}.", 1.5),
                (f"The {v.lvl(lv)} level is negative for {v.compact_all()}.", 0.5),
            ),
        )
    subj = v.levels_phrase(levels)
    neg = v.levels_phrase(levels, conj="or")
    return _wchoice(
        rng,
        (
            (f"{subj} are unremarkable.", 2.0),
            (f"{subj} are normal.", 1.0),
            (f"No stenosis at {neg}.", 1.5),
            (f"There is no {v.compact_all()} at {neg}.", 1.5),
            (f"No significant {v.compact_all()} at {neg}.", 1.0),
        ),
    )


# ---------------------------------------------------------------------------
# Heading styles
# ---------------------------------------------------------------------------


def _body_sentences(v: _Voice, level: str, vals: dict[str, int | None], *, distract: bool = True) -> list[str]:
    """Sentences describing one level (no level name), registering coverage."""
    rng = v.rng
    units = _level_units(vals, rng)
    v.cover(level, units)
    full_normal = all(vals[k] == 0 for k in LOCATIONS)
    dxs = v.distractors(level, vals, abnormal=not full_normal) if distract else []
    sents: list[str] = []
    if full_normal:
        if dxs and rng.random() < 0.4:
            d = dxs[-1]
            tail = rng.choice(("stenosis", "significant stenosis", v.compact_all()))
            sents.extend(v.dx_sentence(x) for x in dxs[:-1])
            sents.append(f"{_cap(_strip_article(d.np))} without {tail}.")
            return sents
        sents.extend(v.dx_sentence(x) for x in dxs)
        sents.append(v.level_normal(after_findings=bool(dxs)))
        return sents
    sents.extend(v.dx_sentence(x) for x in dxs)
    pos = [u for u in units if u.positive]
    zeros = [u for u in units if u.zero]
    ungr = [u for u in units if u.ungraded]
    body: list[str] = []
    attached = False
    if pos:
        n_complex = sum(u.complex for u in pos)
        if len(pos) >= 2 and n_complex <= 1 and rng.random() < 0.45:
            body.append(v.joined_sentence(pos))
        else:
            body.extend(v.sent_pos(u) for u in pos)
        last = pos[-1]
        if zeros and not last.complex and rng.random() < 0.3:
            body[-1] = f"{_cap(v.np(last))} {v.without(zeros)}."
            if len(pos) >= 2 and len(body) == 1:
                # the joined sentence was replaced; restate the others
                body = [v.sent_pos(u) for u in pos[:-1]] + body
            attached = True
    if zeros and not attached:
        zs = v.zero_sentences(zeros)
        body = zs + body if rng.random() < 0.35 else body + zs
    body.extend(v.sent_ungraded(u) for u in ungr)
    return sents + body


def _heading(v: _Voice, label: str, *, stacked: bool) -> str:
    r = v.rng.random()
    if stacked and r < 0.12:
        return label
    if r < 0.8:
        return f"{label}:"
    if r < 0.93:
        return f"{label} level:"
    return f"{label} disc level:"


def _render_headings(v: _Voice, plan: _Plan, *, stacked: bool) -> list[str]:
    """Level-by-level findings with headings (inline or on their own line)."""
    rng = v.rng
    blocks: list[str] = []
    upper = rng.random() < 0.15
    blank = rng.random() < 0.5
    group_normals = rng.random() < 0.35
    levels = list(plan.explicit)
    i = 0
    while i < len(levels):
        lv = levels[i]
        if group_normals and plan.full_normal(lv):
            run = [lv]
            while (
                i + len(run) < len(levels)
                and plan.full_normal(levels[i + len(run)])
                and LEVELS.index(levels[i + len(run)]) == LEVELS.index(run[-1]) + 1
            ):
                run.append(levels[i + len(run)])
            if len(run) >= 2:
                for x in run:
                    v.cover_level(x)
                word = rng.choice(("through", "to"))
                label = f"{v.lvl(run[0])} {word} {v.lvl(run[-1])}"
                head = f"{label}:"
                body = v.level_normal()
                blocks.append(f"{head}\n{body}" if stacked else f"{head} {body}")
                i += len(run)
                continue
        label = v.lvl(lv)
        if lv == "L5-S1" and rng.random() < v.p_lsj * 0.3:
            label = f"{label} (lumbosacral junction)"
        if upper:
            label = label.upper()
        head = _heading(v, label, stacked=stacked)
        body = " ".join(_body_sentences(v, lv, plan.stated[lv]))
        blocks.append(f"{head}\n{body}" if stacked else f"{head} {body}")
        i += 1
    if plan.summarized:
        blocks.append(_remaining_sentence(v, plan, terse=rng.random() < 0.3))
    sep = "\n\n" if (blank or stacked and rng.random() < 0.5) else "\n"
    return [sep.join(blocks)]


# ---------------------------------------------------------------------------
# Narrative style
# ---------------------------------------------------------------------------


def _render_narrative(v: _Voice, plan: _Plan) -> list[str]:
    """Paragraphs grouping levels by finding (canal, then foramina, then normals)."""
    rng = v.rng
    abnormal = [lv for lv in plan.explicit if not plan.full_normal(lv)]
    normals = [lv for lv in plan.explicit if plan.full_normal(lv)]
    paras: list[str] = []

    level_max = {lv: max((x or 0) for x in plan.stated[lv].values()) for lv in abnormal}
    top = max(level_max.values(), default=0)
    worst = [lv for lv in abnormal if top >= 2 and level_max[lv] == top]
    if worst and len(worst) <= 2 and rng.random() < 0.4:
        lead = rng.choice(
            (
                "Multilevel degenerative disc disease, most pronounced at {}.",
                "Degenerative changes are most pronounced at {}.",
                "There is multilevel lumbar spondylosis, most advanced at {}.",
            )
        )
        paras.append(lead.format(_join([v.lvl(x) for x in worst], rng)))

    # Canal -----------------------------------------------------------------
    canal_sents: list[str] = []
    groups: dict[int, list[str]] = {}
    for lv in abnormal:
        c = plan.stated[lv]["scs"]
        if c is not None:
            groups.setdefault(c, []).append(lv)
            v.covered.add((lv, "scs"))
    pos_groups = sorted(((g, lvs) for g, lvs in groups.items() if g >= 1), key=lambda t: LEVELS.index(t[1][0]))
    if len(pos_groups) >= 2 and rng.random() < 0.45:
        canal_sents.append(_graded_levels_sentence(v, pos_groups, rng, canal=True))
    else:
        for g, lvs in pos_groups:
            at = v.levels_phrase(lvs)
            u = _Unit("canal", g)
            r = rng.random()
            if r < 0.3:
                canal_sents.append(f"{_cap(v.np(u))} at {at}.")
            elif r < 0.5:
                canal_sents.append(f"There is {v.np(u)} at {at}.")
            elif r < 0.65:
                canal_sents.append(f"{_cap(v.np(u))} is present at {at}.")
            elif r < 0.8:
                canal_sents.append(f"At {at}, there is {v.np(u)}.")
            else:
                state = rng.choice(("narrowed", "stenotic"))
                canal_sents.append(f"The {v.canal()} is {v.adv(g, canal=True)} {state} at {at}.")
    if _UNGRADED in groups:
        at = v.levels_phrase(groups[_UNGRADED])
        canal_sents.append(f"There is {v.canal()} narrowing at {at}.")
    if 0 in groups:
        at = v.levels_phrase(groups[0], conj="or")
        canal_sents.append(
            _wchoice(
                rng,
                (
                    (f"No {v.canal()} stenosis at {at}.", 2.0),
                    (f"There is no {v.canal()} {v.noun()} at {at}.", 1.5),
                    (f"No significant {v.canal()} {v.noun()} at {at}.", 1.0),
                    (f"The {v.canal()} is patent at {v.levels_phrase(groups[0])}.", 1.5),
                )
            )
        )

    # Foramina ----------------------------------------------------------------
    fgroups: dict[tuple[_Unit, ...], list[str]] = {}
    for lv in abnormal:
        vals = dict(plan.stated[lv])
        vals["scs"] = None
        units = tuple(_level_units(vals, rng))
        if units:
            fgroups.setdefault(units, []).append(lv)
            v.cover(lv, units)
    foram_sents: list[str] = []
    bi_groups = [
        (us[0].value, lvs)
        for us, lvs in fgroups.items()
        if len(us) == 1 and us[0].kind == "bi" and us[0].value >= 1
    ]
    chained: set[tuple[_Unit, ...]] = set()
    if len(bi_groups) >= 2 and rng.random() < 0.45:
        bi_groups.sort(key=lambda t: LEVELS.index(t[1][0]))
        foram_sents.append(_graded_levels_sentence(v, bi_groups, rng, canal=False))
        chained = {(_Unit("bi", g),) for g, _ in bi_groups}
    for units, lvs in fgroups.items():
        if units in chained:
            continue
        pos = [u for u in units if u.positive]
        zeros = [u for u in units if u.zero]
        ungr = [u for u in units if u.ungraded]
        at = v.levels_phrase(lvs)
        sent = ""
        if pos:
            if len(pos) == 1:
                head, tail = v.np_parts(pos[0])
                r = rng.random()
                if r < 0.55:
                    sent = f"{_cap(head)} at {at}{tail}"
                elif r < 0.8:
                    sent = f"There is {head} at {at}{tail}"
                else:
                    sent = f"At {at}, there is {head}{tail}"
            else:
                head, tail = v.join_np(pos)
                sent = f"At {at}, there is {head}{tail}"
            if zeros and rng.random() < 0.4 and not pos[-1].complex:
                sent += f", {v.without(zeros)}"
                zeros = []
            foram_sents.append(sent + ".")
        for u in zeros:
            at0 = v.levels_phrase(lvs, conj="or")
            if u.kind == "bi" and rng.random() < 0.4:
                foram_sents.append(f"The {v.fnoun(plural=True)} are patent at {v.levels_phrase(lvs)}.")
            else:
                lead = rng.choice(("No", "No", "There is no", "No significant"))
                foram_sents.append(f"{lead} {v.bare(u)} at {at0}.")
        for u in ungr:
            foram_sents.append(f"There is {v.ungraded_np(u)} at {at}.")

    if rng.random() < 0.3:
        paras.append(" ".join(canal_sents + foram_sents))
    else:
        paras.extend(p for p in (" ".join(canal_sents), " ".join(foram_sents)) if p)

    # Normals -----------------------------------------------------------------
    norm_sents: list[str] = []
    if normals:
        for lv in normals:
            v.cover_level(lv)
        if rng.random() < 0.5:
            for run in _normal_runs(normals):
                norm_sents.append(_normal_group_sentence(v, run))
        else:
            norm_sents.append(_normal_group_sentence(v, normals))
    if plan.summarized:
        norm_sents.append(_remaining_sentence(v, plan))
    if norm_sents:
        paras.append(" ".join(norm_sents))
    return paras


# ---------------------------------------------------------------------------
# Prose with etiology
# ---------------------------------------------------------------------------


def _prose_level(v: _Voice, level: str, vals: dict[str, int | None]) -> str:
    """"At L4-5, there is ..." paragraph for one level."""
    rng = v.rng
    units = _level_units(vals, rng)
    v.cover(level, units)
    ref = v.lvl_ref(level)
    full_normal = all(vals[k] == 0 for k in LOCATIONS)
    all_dxs = v.distractors(level, vals, abnormal=not full_normal)
    # Only plausible causes are phrased as producing the narrowing.
    dxs = [d for d in all_dxs if d.cause] if not full_normal else all_dxs
    others = [d for d in all_dxs if d not in dxs]
    dnp = _join([d.np for d in dxs], rng)
    plural = len(dxs) > 1 or (len(dxs) == 1 and dxs[0].plural)  # verb agreement
    there = "there are" if len(dxs) == 1 and dxs[0].plural else "there is"
    if full_normal:
        options: list[tuple[str, float]] = [
            (f"At {ref}, there is no {v.compact_all()}.", 2.0),
            (f"The {v.lvl(level)} level is unremarkable.", 1.5),
            (f"At {ref}, the {v.canal()} and {v.fnoun(plural=True)} are patent.", 1.0),
            (f"The {v.lvl(level)} level is negative for {v.compact_all()}.", 0.6),
        ]
        if dxs:
            options += [
                (f"At {ref}, {there} {dnp} without stenosis.", 2.0),
                (f"At {ref}, {there} {dnp} without {v.compact_all()}.", 2.0),
            ]
        return _wchoice(rng, options)

    pos = [u for u in units if u.positive]
    zeros = [u for u in units if u.zero]
    ungr = [u for u in units if u.ungraded]
    sents: list[str] = []
    if pos:
        head, tail = v.join_np(pos)
        zero_attach = bool(zeros) and not pos[-1].complex and rng.random() < 0.5
        wo = f" {v.without(zeros)}" if zero_attach else ""
        r = rng.random()
        first = pos[0]
        if dxs and r < 0.3:
            sents.append(f"At {ref}, {there} {dnp}, resulting in {head}{tail}{wo}.")
        elif dxs and r < 0.5:
            verb = rng.choice(("result in", "contribute to", "cause", "produce"))
            if not plural:
                verb = {"result in": "results in", "contribute to": "contributes to", "cause": "causes",
                        "produce": "produces"}[verb]
            sents.append(f"At {ref}, {dnp} {verb} {head}{tail}{wo}.")
        elif dxs and r < 0.68 and first.kind in ("canal", "one", "bi"):
            adv = v.adv(first.value, canal=first.kind == "canal")
            if first.kind == "canal":
                target = f"the {v.canal()}"
            elif first.kind == "one":
                target = f"the {first.side} {v.fnoun()}"
            else:
                target = f"the {v.fnoun(plural=True)} bilaterally"
            verb = "narrow" if plural else "narrows"
            sents.append(f"At {ref}, {dnp} {adv} {verb} {target}.")
            rest = pos[1:]
            if rest:
                h2, t2 = v.join_np(rest)
                sents.append(f"There is also {h2}{t2}{wo}.")
            elif zero_attach:
                zero_attach = False
        elif dxs and r < 0.85:
            subject = rng.choice((f"The {v.lvl(level)} disc demonstrates", f"At {ref}, {there}"))
            sents.append(f"{subject} {dnp}.")
            sents.append(f"There is {head}{tail}{wo}.")
        else:
            if rng.random() < 0.6:
                sents.append(f"At {ref}, there is {head}{tail}{wo}.")
            else:
                sents.append(f"The {v.lvl(level)} level demonstrates {head}{tail}{wo}.")
            if dxs:
                sents.extend(v.dx_sentence(d) for d in dxs)
        sents.extend(v.dx_sentence(d) for d in others)
        if zeros and not zero_attach:
            sents.extend(v.zero_sentences(zeros))
        sents.extend(v.sent_ungraded(u) for u in ungr)
    else:
        dxs = all_dxs
        dnp = _join([d.np for d in dxs], rng)
        there = "there are" if len(dxs) == 1 and dxs[0].plural else "there is"
        if ungr:
            u0 = ungr[0]
            if dxs:
                sents.append(f"At {ref}, {there} {dnp}.")
                sents.append(f"There is {v.ungraded_np(u0)}.")
            else:
                sents.append(f"At {ref}, there is {v.ungraded_np(u0)}.")
            sents.extend(v.sent_ungraded(u) for u in ungr[1:])
            sents.extend(v.zero_sentences(zeros))
        else:
            bare = " or ".join(v.bare(u) for u in zeros)
            if dxs and rng.random() < 0.6:
                sents.append(f"At {ref}, {there} {dnp} without {bare}.")
            else:
                sents.append(f"At {ref}, there is no {bare}.")
    return " ".join(sents)


def _render_prose(v: _Voice, plan: _Plan) -> list[str]:
    rng = v.rng
    paras: list[str] = []
    normals_grouped = rng.random() < 0.4
    pending_normals: list[str] = []
    for lv in plan.explicit:
        if normals_grouped and plan.full_normal(lv):
            pending_normals.append(lv)
            v.cover_level(lv)
            continue
        paras.append(_prose_level(v, lv, plan.stated[lv]))
    tail: list[str] = []
    if pending_normals:
        tail.extend(_normal_group_sentence(v, run) for run in _normal_runs(pending_normals))
    if plan.summarized:
        tail.append(_remaining_sentence(v, plan))
    if tail:
        paras.append(" ".join(tail))
    if rng.random() < 0.35:
        return [" ".join(paras)]
    return paras


# ---------------------------------------------------------------------------
# Terse style
# ---------------------------------------------------------------------------


class _Terse:
    """Telegraphic vocabulary fixed per report."""

    def __init__(self, v: _Voice) -> None:
        rng = v.rng
        self.v = v
        self.canal = _wchoice(
            rng, (("CCS", 1.0), ("canal stenosis", 2.0), ("central canal stenosis", 1.5), ("canal narrowing", 1.0))
        )
        self.nf = _wchoice(
            rng,
            (("NF narrowing", 2.0), ("NF stenosis", 1.5), ("foraminal narrowing", 1.5), ("foraminal stenosis", 1.0)),
        )
        self.abbrev_side = rng.random() < 0.6
        self.bilat = "bilat" if rng.random() < 0.7 else "bilateral"
        self.lower = rng.random() < 0.6

    def side(self, s: str) -> str:
        return s[0].upper() if self.abbrev_side else s

    def sev(self, g: int, *, simple: bool = False) -> str:
        opts = {
            1: (("mild", 8.0), ("minimal", 1.5)),
            2: (("mod", 4.0), ("moderate", 4.0), ("mild-moderate", 1.5)),
            3: (("severe", 8.0), ("moderate-severe", 1.0), ("marked", 0.8)),
        }[g]
        if simple:
            opts = tuple(o for o in opts if "-" not in o[0])
        return _wchoice(self.v.rng, opts)

    def unit(self, u: _Unit) -> str:
        rng = self.v.rng
        if u.kind == "canal":
            if u.value == 0:
                return rng.choice((f"no {self.canal}", f"no {self.canal}", "canal patent", "patent canal"))
            return f"{self.sev(u.value)} {self.canal}"
        if u.kind == "one":
            s = self.side(u.side)
            if u.value == 0:
                return f"no {s} {self.nf}"
            return f"{self.sev(u.value)} {s} {self.nf}"
        if u.kind == "bi":
            if u.value == 0:
                return rng.choice((f"no {self.nf}", "NF patent", "foramina patent"))
            if rng.random() < 0.8:
                return f"{self.sev(u.value)} {self.bilat} {self.nf}"
            return f"{self.sev(u.value)} {self.nf} bilaterally"
        if u.kind == "cmp":
            word = _RANGE_WORD[u.value]
            if rng.random() < 0.4:
                word = word.replace("moderate", "mod")
            g, lesser = self.side(u.side), self.side(_OTHER_SIDE[u.side])
            comp = f"{g}>{lesser}" if self.abbrev_side else f"{g} greater than {lesser}"
            return f"{word} {self.bilat} {self.nf}, {comp}"
        (s1, v1), (s2, v2) = u.pairs
        return f"{self.sev(v1, simple=True)} {self.side(s1)} and {self.sev(v2, simple=True)} {self.side(s2)} {self.nf}"

    def ungraded(self, u: _Unit) -> str:
        if u.kind == "canal":
            return "canal narrowing" if self.canal == "CCS" else self.canal
        if u.kind == "one":
            return f"{self.side(u.side)} {self.nf}"
        return f"{self.bilat} {self.nf}"

    def normal(self) -> str:
        c = "CCS" if self.canal == "CCS" else "canal stenosis"
        return _wchoice(
            self.v.rng,
            (("neg", 1.0), ("negative", 2.0), ("no stenosis", 2.0), ("unremarkable", 1.5), ("normal", 1.0),
             (f"no {c} or NF narrowing", 1.0), ("patent canal and foramina", 1.0)),
        )

    def fmt(self, s: str) -> str:
        return s if self.lower else _cap(s)


def _render_terse(v: _Voice, plan: _Plan) -> list[str]:
    rng = v.rng
    t = _Terse(v)
    lines: list[str] = []
    i = 0
    levels = plan.explicit
    group = rng.random() < 0.4
    while i < len(levels):
        lv = levels[i]
        vals = plan.stated[lv]
        if plan.full_normal(lv):
            run = [lv]
            if group:
                while (
                    i + len(run) < len(levels)
                    and plan.full_normal(levels[i + len(run)])
                    and LEVELS.index(levels[i + len(run)]) == LEVELS.index(run[-1]) + 1
                ):
                    run.append(levels[i + len(run)])
            for x in run:
                v.cover_level(x)
            label = v.lvl(lv) if len(run) == 1 else f"{v.lvl(run[0])} through {v.lvl(run[-1])}"
            dx = ""
            if len(run) == 1 and rng.random() < 0.2:
                dxs = v.distractors(lv, vals, abnormal=False)
                if dxs:
                    dx = t.fmt(dxs[0].terse) + ", "
                    lines.append(f"{label}: {dx}{t.normal()}.")
                    i += 1
                    continue
            lines.append(f"{label}: {t.fmt(t.normal())}.")
            i += len(run)
            continue
        units = _level_units(vals, rng)
        v.cover(lv, units)
        items = [t.unit(u) for u in units if not u.ungraded]
        sep = "; " if any(u.kind == "cmp" for u in units) or rng.random() < 0.3 else ", "
        dxs = v.distractors(lv, vals, abnormal=True)
        if dxs and rng.random() < 0.6:
            items = [d.terse for d in dxs[:2]] + items
            sep = "; "
        text = t.fmt(sep.join(items)) + "." if items else ""
        extra = " ".join(f"{_cap(t.ungraded(u))}." for u in units if u.ungraded)
        body = " ".join(x for x in (text, extra) if x)
        lines.append(f"{v.lvl(lv)}: {body}")
        i += 1
    if plan.summarized:
        lines.append(_remaining_sentence(v, plan, terse=True))
    return ["\n".join(lines)]


# ---------------------------------------------------------------------------
# Structured style
# ---------------------------------------------------------------------------


def _render_structured(v: _Voice, plan: _Plan) -> list[str]:
    rng = v.rng
    canal_label = rng.choice(("Central canal", "Spinal canal", "Canal"))
    sep_sides = rng.random() < 0.5
    f_label = rng.choice(("neural foramen", "foramen", "neuroforamen"))
    fpl_label = {"neural foramen": "Neural foramina", "foramen": "Foramina", "neuroforamen": "Neuroforamina"}[f_label]
    bullets = rng.random() < 0.5
    bullet = rng.choice(("- ", "* ", "  "))
    with_disc = rng.random() < 0.6

    def value(g: int, *, canal: bool) -> str:
        """A template's value for grade ``g`` of the canal or of one foramen."""
        if g == 0:
            normal = ("patent", "normal", "no stenosis", "no stenosis") if canal else ("patent", "normal", "no stenosis")
            return rng.choice(normal)
        if g == _UNGRADED:
            return rng.choice(("narrowed", "stenosis present"))
        return _ladder(rng, ((0.5, lambda: f"{v.adj(g, canal=canal)} stenosis"), (0.8, lambda: v.adj(g, canal=canal)),
                             (1.0, lambda: f"{v.adv(g, canal=canal)} narrowed")))

    def foramina_val(u: _Unit) -> str | None:
        if u.kind == "bi":
            if u.value == 0:
                return rng.choice(("patent", "patent bilaterally", "no stenosis"))
            if u.value == _UNGRADED:
                return None
            return rng.choice((f"{v.adj(u.value)} bilateral stenosis", f"{v.adj(u.value)} narrowing bilaterally",
                               f"{v.adj(u.value)} bilaterally"))
        if u.kind == "cmp":
            g, lesser = u.side, _OTHER_SIDE[u.side]
            return f"{_RANGE_WORD[u.value]} narrowing, {g} greater than {lesser}"
        if u.kind == "split":
            (s1, v1), (s2, v2) = u.pairs
            a1, a2 = v.adj(v1, simple=True), v.adj(v2, simple=True)
            return rng.choice((f"{a1} on the {s1}, {a2} on the {s2}", f"{a1} {s1}, {a2} {s2}"))
        return None

    blocks: list[str] = []
    for lv in plan.explicit:
        vals = plan.stated[lv]
        full_normal = plan.full_normal(lv)
        label = v.lvl(lv)
        if full_normal and rng.random() < 0.5:
            v.cover_level(lv)
            blocks.append(f"{label}: {v.level_normal()}")
            continue
        fields: list[tuple[str, str]] = []
        if with_disc:
            dxs = v.distractors(lv, vals, abnormal=not full_normal)
            disc = [_strip_article(d.np).removeprefix("disc ") for d in dxs
                    if "facet" not in d.np and "ligament" not in d.np and "recess" not in d.np]
            facets = [d.np for d in dxs if "facet" in d.np or "ligament" in d.np]
            recess = [d.np for d in dxs if "recess" in d.np]
            fields.append(("Disc", ", ".join(disc) or rng.choice(("normal", "no herniation", "unremarkable"))))
            if facets:
                fields.append(("Facets", ", ".join(facets)))
            if recess:
                fields.append(("Lateral recesses", recess[0]))
        if vals["scs"] is not None:
            fields.append((canal_label, value(vals["scs"], canal=True)))
            v.covered.add((lv, "scs"))
        fvals = dict(vals)
        fvals["scs"] = None
        funits = _level_units(fvals, rng)
        combined = None
        if not sep_sides and len(funits) == 1:
            combined = foramina_val(funits[0])
        if combined is not None:
            fields.append((fpl_label, combined))
            v.cover(lv, funits)
        else:
            for side in ("right", "left"):
                g = vals[_SIDE_LOC[side]]
                if g is not None:
                    fields.append((f"{_cap(side)} {f_label}", value(g, canal=False)))
                    v.covered.add((lv, _SIDE_LOC[side]))
        if bullets:
            body = "\n".join(f"{bullet}{k}: {val}" for k, val in fields)
            blocks.append(f"{label}:\n{body}")
        else:
            body = " ".join(f"{k}: {val}." for k, val in fields)
            blocks.append(f"{label}: {body}")
    if plan.summarized:
        blocks.append(_remaining_sentence(v, plan, terse=rng.random() < 0.6))
    return [("\n\n" if bullets else "\n").join(blocks)]


# ---------------------------------------------------------------------------
# Impression
# ---------------------------------------------------------------------------


def _impression_items(v: _Voice, stated: dict[str, dict[str, int | None]]) -> list[str]:
    """Impression items repeating the worst graded findings."""
    rng = v.rng
    graded = {
        lv: max((x for x in stated[lv].values() if x is not None and x >= 1), default=0) for lv in LEVELS
    }
    top = max(graded.values())
    all_zero = all(stated[lv][k] == 0 for lv in LEVELS for k in LOCATIONS)
    if top == 0:
        if all_zero:
            c, f = v.canal(), v.fadj()
            return [
                _wchoice(
                    rng,
                    (
                        (f"No {c} or {f} stenosis at any level.", 2.0),
                        ("Unremarkable MRI of the lumbar spine.", 1.0),
                        (f"Mild degenerative changes without {c} or {f} stenosis at any level.", 1.0),
                    ),
                )
            ]
        return [rng.choice(("Degenerative changes as described above.", "No acute osseous abnormality."))]
    threshold = 2 if top >= 2 else 1
    worst = [lv for lv in LEVELS if graded[lv] >= threshold]
    worst.sort(key=lambda lv: (-graded[lv], LEVELS.index(lv)))
    worst = worst[: rng.choice((2, 3, 4))]
    if rng.random() < 0.6:
        worst.sort(key=LEVELS.index)
    groups: dict[tuple[_Unit, ...], list[str]] = {}
    for lv in worst:
        pos = tuple(u for u in _level_units(stated[lv], rng) if u.positive)
        groups.setdefault(pos, []).append(lv)
    items: list[str] = []
    for pos, lvs in groups.items():
        head, tail = v.join_np(pos)
        at = v.levels_phrase(lvs)
        r = rng.random()
        if not items and r < 0.15 and graded[lvs[0]] == top:
            items.append(f"Multilevel lumbar spondylosis, most pronounced at {at}, with {head}{tail}.")
        elif r < 0.6 or len(lvs) > 1:
            items.append(f"{_cap(head)} at {at}{tail}.")
        elif r < 0.8:
            items.append(f"{v.lvl(lvs[0])}: {_cap(head)}{tail}.")
        else:
            items.append(f"At {at}, there is {head}{tail}.")
    if rng.random() < 0.3:
        items.append("Additional degenerative changes as detailed above.")
    return items


def _format_items(items: Sequence[str], rng: random.Random, *, p_inline: float = 0.2) -> str:
    """Numbered, line-separated or run-on list of impression items."""
    if len(items) == 1 and rng.random() < 0.6:
        return items[0]
    if rng.random() < p_inline:
        return " ".join(items)
    fmt = _wchoice(rng, (("dot", 5.0), ("paren", 2.0), ("plain", 2.5)))
    if fmt == "dot":
        return "\n".join(f"{i}. {x}" for i, x in enumerate(items, 1))
    if fmt == "paren":
        return "\n".join(f"{i}) {x}" for i, x in enumerate(items, 1))
    return "\n".join(items)


def _render_impression_detailed(v: _Voice, plan: _Plan) -> tuple[list[str], list[str]]:
    """Findings without stenosis grading; impression carries the grades.

    Returns (findings paragraphs, impression items).
    """
    rng = v.rng
    present = [lv for lv in LEVELS if plan.present(lv)]
    abnormal = [lv for lv in plan.explicit if not plan.full_normal(lv)]
    findings: list[str] = []
    desc = [lv for lv in abnormal]
    if desc:
        dd = [lv for lv in desc if rng.random() < 0.8] or desc[:1]
        findings.append(
            rng.choice(("Disc desiccation", "Degenerative disc disease", "Loss of disc height and signal"))
            + f" at {v.levels_phrase(dd)}."
        )
        facet = [lv for lv in desc if rng.random() < 0.6]
        if facet:
            sev = rng.choice(("mild", "moderate", "moderate to severe"))
            findings.append(f"Facet arthropathy, {sev} at {v.lvl_ref(facet[-1])}.")
        if rng.random() < 0.4:
            lv = rng.choice(desc)
            what = rng.choice(("Annular fissure", "Broad-based disc bulge", "Small central disc protrusion"))
            findings.append(f"{what} at {v.lvl_ref(lv)}.")
    elif present and rng.random() < 0.5:
        findings.append("Disc heights and hydration are preserved.")
    findings.append(
        rng.choice(
            (
                "Level-by-level assessment of the spinal canal and neural foramina is provided in the impression.",
                "Canal and foraminal narrowing are graded in the impression below.",
                "See impression for canal and foraminal assessment.",
            )
        )
    )

    items: list[str] = []
    order = list(plan.explicit)
    if rng.random() < 0.3:
        order.sort(key=lambda lv: -max((x or 0) for x in plan.stated[lv].values()))
    normals = [lv for lv in order if plan.full_normal(lv)]
    grouped_normals = bool(normals) and rng.random() < 0.6
    for lv in order:
        if grouped_normals and lv in normals:
            continue
        body = " ".join(_body_sentences(v, lv, plan.stated[lv], distract=False))
        items.append(f"{v.lvl(lv)}: {body}")
    if grouped_normals:
        for lv in normals:
            v.cover_level(lv)
        for run in _normal_runs(sorted(normals, key=LEVELS.index)):
            items.append(_normal_group_sentence(v, run))
    if plan.summarized:
        items.append(_remaining_sentence(v, plan))
    return [" ".join(findings)], items


# ---------------------------------------------------------------------------
# Report frame
# ---------------------------------------------------------------------------


def _random_date(rng: random.Random) -> str:
    y, m, d = rng.randint(2012, 2023), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice((f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{m}/{d}/{y}"))


def _history(v: _Voice) -> str:
    rng = v.rng
    side = rng.choice(("right", "left"))
    lv = v.lvl(rng.choice(LEVELS[2:]))
    sev = rng.choice(("mild", "moderate", "severe"))
    age = rng.randint(24, 88)
    sex = rng.choice(("male", "female", "man", "woman"))
    options = (
        "Low back pain.",
        f"Chronic low back pain radiating to the {side} leg.",
        f"{_cap(side)} L5 radiculopathy.",
        "Evaluate for spinal stenosis.",
        f"Neurogenic claudication; evaluate for stenosis at {lv}.",
        f"Known {sev} {lv} stenosis on outside imaging, worsening symptoms.",
        "Bilateral leg numbness. Rule out foraminal stenosis.",
        f"Follow-up of {lv} disc herniation.",
        "Back pain after a fall.",
        f"Preoperative planning for {lv} decompression.",
        f"{age}-year-old {sex} with low back pain and {side} sciatica.",
        f"{age} y/o {sex}, {side} buttock and thigh pain for 3 months, failed conservative therapy.",
        "Lumbar radiculopathy, no red flags.",
        f"Prior {lv} microdiscectomy? Evaluate for {sev} recurrent canal narrowing.",
    )
    return rng.choice(options)


def _technique(v: _Voice) -> str:
    rng = v.rng
    parts = [
        rng.choice(
            (
                "Multiplanar, multisequence MR imaging of the lumbar spine was performed without intravenous contrast.",
                "Sagittal T1, T2, and STIR and axial T1 and T2 weighted images of the lumbar spine were obtained.",
                "Routine noncontrast lumbar spine protocol.",
                f"Noncontrast MRI of the lumbar spine on a {rng.choice(('1.5', '3'))} T scanner.",
            )
        )
    ]
    if rng.random() < 0.3:
        parts.append(f"Axial images were obtained from {v.lvl(rng.choice(LEVELS[:3]))} through {v.lvl('L5-S1')}.")
    return " ".join(parts)


def _comparison(v: _Voice) -> str:
    rng = v.rng
    return rng.choice(
        (
            "None.",
            "None available.",
            "No prior imaging.",
            f"Lumbar spine radiographs dated {_random_date(rng)}.",
            f"MRI lumbar spine {_random_date(rng)}.",
            f"CT abdomen and pelvis {_random_date(rng)}.",
        )
    )


def _general_findings(v: _Voice) -> list[str]:
    """Alignment / vertebrae / marrow / conus / soft tissue sentences."""
    rng = v.rng
    listhesis = rng.random() < 0.15
    if listhesis:
        which = rng.choice(("Grade 1 anterolisthesis of L4 on L5.", "Grade 1 anterolisthesis of L5 on S1.",
                            "Trace retrolisthesis of L3 on L4."))
        alignment = which
        if rng.random() < 0.5:
            v.extra_impression.append(which)
    else:
        alignment = rng.choice(
            (
                "Normal lumbar lordosis without spondylolisthesis.",
                "The alignment is normal.",
                "Mild straightening of the lumbar lordosis.",
                "Alignment is maintained.",
                "Mild dextroconvex curvature of the lumbar spine.",
            )
        )
    vertebrae = rng.choice(
        (
            "Vertebral body heights are preserved.",
            "No compression fracture.",
            "Vertebral body heights are maintained without acute fracture.",
            "Mild chronic compression deformity of the L1 superior endplate.",
        )
    )
    marrow = rng.choice(
        (
            "Marrow signal is within normal limits.",
            "Normal bone marrow signal.",
            "Small benign-appearing hemangioma in the L2 vertebral body.",
            "Heterogeneous marrow signal, likely degenerative.",
        )
    )
    conus = rng.choice(
        (
            "The conus medullaris terminates at L1 and is normal in signal.",
            "The conus terminates at the L1 level.",
            "The distal spinal cord and conus are normal in signal, terminating at the level of L1.",
            "The conus medullaris is normal in position and signal, ending at T12.",
            "Conus medullaris terminates at L2.",
        )
    )
    soft = rng.choice(
        (
            "Paraspinal soft tissues are unremarkable.",
            "Paraspinal musculature is unremarkable.",
            "The visualized retroperitoneum is unremarkable.",
            "Incidental simple-appearing left renal cyst.",
        )
    )
    items = [("Alignment", alignment), ("Vertebrae", vertebrae), ("Marrow", marrow), ("Conus", conus),
             ("Soft tissues", soft)]
    items = [it for it in items if it[0] in ("Alignment", "Conus") or rng.random() < 0.75]
    if rng.random() < 0.4:
        return ["\n".join(f"{k}: {s}" for k, s in items)]
    return [" ".join(s for _, s in items)]


def _section(label: str, body: str, fmt: str, rng: random.Random) -> str:
    if fmt == "title":
        label = label.title()
    if fmt == "newline" or "\n" in body and rng.random() < 0.7:
        return f"{label}:\n{body}"
    return f"{label}: {body}"


def write_report(grades: Grades, rng: random.Random, *, style: str | None = None) -> SyntheticReport:
    """Write one free-text report for ``grades``.

    Args:
        grades: level -> location -> grade (0..3) or ``None`` (unknown; never
            stated in the text).  Missing levels/locations count as ``None``.
        rng: Source of randomness.
        style: One of :data:`STYLES`; drawn at random when ``None``.

    Returns:
        The report, its style, and the labels the text determines.

    Raises:
        ValueError: For an unknown style, level, location or grade value.
    """
    if style is None:
        style = rng.choice(STYLES)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    norm = _normalise(grades)
    v = _Voice(rng)
    plan = _make_plan(norm, style, rng)

    imp_items: list[str] | None = None
    if style == "inline_headings":
        level_paras = _render_headings(v, plan, stacked=False)
    elif style == "stacked_headings":
        level_paras = _render_headings(v, plan, stacked=True)
    elif style == "narrative":
        level_paras = _render_narrative(v, plan)
    elif style == "terse":
        level_paras = _render_terse(v, plan)
    elif style == "prose_etiology":
        level_paras = _render_prose(v, plan)
    elif style == "structured":
        level_paras = _render_structured(v, plan)
    else:
        level_paras, imp_items = _render_impression_detailed(v, plan)

    expected = {(lv, k) for lv in LEVELS for k in LOCATIONS if plan.stated[lv][k] is not None}
    if v.covered != expected:  # pragma: no cover - internal consistency guard
        raise RuntimeError(
            f"synth bug in style {style}: stated {sorted(expected ^ v.covered)} mismatch"
        )

    general = _general_findings(v)
    findings_paras = general + level_paras if rng.random() < 0.85 else level_paras + general
    findings_paras = [p for p in findings_paras if p]

    if imp_items is None:
        imp_items = _impression_items(v, plan.stated)
    imp_items = imp_items + v.extra_impression

    label_fmt = _wchoice(rng, (("upper", 6.0), ("title", 2.0), ("newline", 2.0)))
    sections: list[str] = []
    if rng.random() < 0.85:
        exam = rng.choice(
            (
                "MRI LUMBAR SPINE WITHOUT CONTRAST",
                "MRI of the lumbar spine without IV contrast",
                "MR L-SPINE WO CONTRAST",
                "MRI lumbar spine with and without contrast",
            )
        )
        sections.append(_section(rng.choice(("EXAM", "EXAMINATION", "STUDY")), exam, label_fmt, rng))
    if rng.random() < 0.8:
        sections.append(
            _section(rng.choice(("CLINICAL HISTORY", "HISTORY", "INDICATION", "CLINICAL INDICATION")),
                     _history(v), label_fmt, rng)
        )
    if rng.random() < 0.7:
        sections.append(_section("TECHNIQUE", _technique(v), label_fmt, rng))
    if rng.random() < 0.65:
        sections.append(_section("COMPARISON", _comparison(v), label_fmt, rng))
    findings_body = "\n\n".join(findings_paras)
    findings_label = "FINDINGS" if label_fmt != "title" else "Findings"
    sections.append(f"{findings_label}:\n{findings_body}" if label_fmt == "newline" or rng.random() < 0.6
                    else f"{findings_label}: {findings_body}")
    if style == "impression_detailed" or rng.random() < 0.93:
        imp_label = rng.choice(("IMPRESSION", "IMPRESSION", "CONCLUSION")) if label_fmt != "title" else "Impression"
        body = _format_items(imp_items, rng, p_inline=0.08 if style == "impression_detailed" else 0.2)
        sections.append(f"{imp_label}:\n{body}" if "\n" in body or rng.random() < 0.5 else f"{imp_label}: {body}")
    text = "\n\n".join(sections) + "\n"

    labels: Grades = {
        lv: {k: (None if plan.stated[lv][k] in (None, _UNGRADED) else plan.stated[lv][k]) for k in LOCATIONS}
        for lv in LEVELS
    }
    return SyntheticReport(text=text, style=style, labels=labels)


def _normalise(grades: Grades) -> Grades:
    """Validate ``grades`` and return a complete copy (missing -> None)."""
    for lv, slots in grades.items():
        if lv not in LEVELS:
            raise ValueError(f"unknown level {lv!r}")
        for k, g in slots.items():
            if k not in LOCATIONS:
                raise ValueError(f"unknown location {k!r}")
            if g is not None and (isinstance(g, bool) or g not in (0, 1, 2, 3)):
                raise ValueError(f"bad grade {g!r} at {lv}/{k}")
    return {lv: {k: grades.get(lv, {}).get(k) for k in LOCATIONS} for lv in LEVELS}


def generate(n: int, seed: int = 0) -> list[SyntheticReport]:
    """Generate ``n`` reports from random grades, deterministically for ``seed``.

    Styles are drawn uniformly.  In about 8% of studies T12-L1 is treated as
    not assessed (all ``None``), so it is never mentioned in the findings.
    """
    rng = random.Random(seed)
    out: list[SyntheticReport] = []
    for _ in range(n):
        grades = random_grades(rng)
        if rng.random() < 0.08:
            grades["T12-L1"] = {k: None for k in LOCATIONS}
        out.append(write_report(grades, rng))
    logger.debug("generated %d synthetic reports (seed=%d)", n, seed)
    return out
