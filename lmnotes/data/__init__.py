"""Corpora the package generates itself (the seeded world), tokenizers, and batching.

Example::

    from lmnotes import data
    ds = data.corpus(2000, seed=0)              # DatasetDict: train / validation / test
    tok = data.WordTokenizer().train(ds["train"]["text"])
"""

from .batching import IGNORE_INDEX, pad_batch  # noqa: F401
from .tokenizers import SPECIAL_TOKENS, BPETokenizer, CharTokenizer, ELMoTokenizer, Tokenizer, WordTokenizer  # noqa: F401
from .world import (  # noqa: F401
    ADJECTIVES,
    EXCEPTIONS,
    NOUN_VERB,
    PROPERTIES,
    SENSES,
    TAGS,
    TAXONOMY,
    Sentence,
    World,
    corpus,
    documents,
    facts,
    instructions,
    load_text,
    online,
    pos_corpus,
    property_question,
    reviews,
    sense_corpus,
)
