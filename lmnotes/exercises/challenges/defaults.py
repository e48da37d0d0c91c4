"""Exercises for the challenges chapter's defaults notebook: a property read by inheritance through a taxonomy with
exceptions, and what a default answer means for an exception the text never stated."""

from __future__ import annotations

from .. import Wrong, exercise, question

# A taxonomy with exceptions at two levels: ratites are birds that cannot fly, and one made-up ratite can.
_PARENT = {
    "bird": "animal",
    "fish": "animal",
    "robin": "bird",
    "penguin": "bird",
    "ratite": "bird",
    "ostrich": "ratite",
    "kalo": "ratite",
    "salmon": "fish",
}
_FACTS = {
    ("animal", "can breathe"): True,
    ("animal", "can swim"): False,
    ("bird", "can fly"): True,
    ("bird", "has feathers"): True,
    ("fish", "can swim"): True,
    ("penguin", "can fly"): False,
    ("penguin", "can swim"): True,
    ("ratite", "can fly"): False,
    ("kalo", "can fly"): True,
}
_CASES = [
    ("robin", "can fly", "an ordinary bird"),
    ("penguin", "can fly", "the penguin, whose own statement overrides its category"),
    ("penguin", "has feathers", "the penguin's other properties, inherited from bird"),
    ("robin", "can breathe", "a property stated two levels up (animals)"),
    ("ostrich", "can fly", "an ostrich, a ratite (ratites cannot fly, though birds can)"),
    ("kalo", "can fly", "kalo, a ratite that can fly (its own statement, nearest of all)"),
    ("salmon", "can fly", "a property nothing on the salmon's path states"),
    ("penguin", "can swim", "the penguin's own extra property"),
    ("bird", "can fly", "a category asked about itself"),
    ("ostrich", "can breathe", "a property stated three levels up"),
    ("salmon", "can swim", "a salmon (fish can swim, though animals in general cannot)"),
]


def _chain(x, parent):
    out = [x]
    while out[-1] in parent:
        out.append(parent[out[-1]])
    return out


def _nearest(x, prop, parent, facts, start=0, levels=None, last=False):
    chain = _chain(x, parent)[start:]
    if levels is not None:
        chain = chain[:levels]
    found = [facts[(n, prop)] for n in chain if (n, prop) in facts]
    if not found:
        return False
    return found[-1] if last else found[0]


# Typical wrong readings, each with what to tell the student.
_MISTAKES = [
    (
        lambda x, p, par, f: _nearest(x, p, par, f, start=1),
        "you start from the entity's parent, so its own statement (an exception like 'a penguin cannot fly') is "
        "never read; start the walk at the entity itself",
    ),
    (
        lambda x, p, par, f: _nearest(x, p, par, f, last=True),
        "the most general statement wins in your answer (birds can fly beats the penguin's 'cannot fly'); the "
        "nearest one must win: stop at the first node on the way up that states the property",
    ),
    (
        lambda x, p, par, f: _nearest(x, p, par, f, levels=2),
        "you look at the entity and its parent only; a property can be stated further up (animals can breathe): "
        "keep walking up the parents until one states it or there is no parent left",
    ),
    (
        lambda x, p, par, f: any(f.get((n, p), False) for n in _chain(x, par)),
        "you answer True when any node on the path says True; an exception says False nearer the entity, and "
        "the nearest statement decides",
    ),
]


@exercise(
    "inherit_property",
    hint="walk up from the entity: the entity, its parent, the parent's parent, ...; the first node that states "
    "the property decides; if none does, the answer is False",
)
def check_inherit_property(fn):
    parent, facts = dict(_PARENT), dict(_FACTS)
    got = []
    for x, prop, _ in _CASES:
        ans = fn(x, prop, dict(parent), dict(facts))
        if not isinstance(ans, bool):
            raise Wrong(f"return True or False, got {type(ans).__name__} ({ans!r}) for {x!r}, {prop!r}")
        got.append(ans)
    want = [_nearest(x, p, parent, facts) for x, p, _ in _CASES]
    if got == want:
        return
    for wrong, why in _MISTAKES:
        if got == [wrong(x, p, parent, facts) for x, p, _ in _CASES]:
            raise Wrong(why)
    i = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    x, prop, what = _CASES[i]
    raise Wrong(f"for {what}: {x!r} {prop!r} should be {want[i]}, you return {got[i]}")


@check_inherit_property.reference
def inherit_property(entity, prop, parent, facts):
    node = entity
    while True:
        if (node, prop) in facts:  # the nearest statement wins: an exception overrides its category
            return facts[(node, prop)]
        if node not in parent:
            return False  # nothing on the path states it
        node = parent[node]


question(
    "exception_never_stated",
    answer="b",
    choices={
        "a": "a failure of the model: it ignored the exception",
        "b": "the best any learner could do: nothing in the text tells this bird apart from an ordinary one",
        "c": "a sign the model has not learned that birds fly",
        "d": "a failure of the control: the control birds should have been stated more often",
    },
    mistakes={
        "a": "the exception was stated 0 times: the model was never told, so there is nothing to ignore",
        "c": "it answers that the bird CAN fly, which is exactly the default 'birds can fly' applied",
        "d": "the controls at count 0 are never stated either; the comparison is fair at every count",
    },
    explanation="At count 0 the text says the made-up bird is a bird and has feathers, and nothing else: 'it can "
    "fly' is the sensible guess, and it is the controls' right answer. The over-application worth the name is at "
    "counts 1 and 2, where the exception was stated and the default still won.",
    hint="what did the training text say about this bird?",
)
