"""The models of the book, and nothing else: configs, modules, GPT's sampling, loading Hugging Face weights.

* :mod:`~lmnotes.models.transformer` — attention, the feed-forward network, the block, the key/value cache
  (shared by BERT and GPT);
* :mod:`~lmnotes.models.elmo` — ELMo's character CNN, biLM and scalar mix;
* :mod:`~lmnotes.models.bert` — BERT, its pretraining heads and its fine-tuning heads;
* :mod:`~lmnotes.models.gpt` — GPT, its sampling filters and generation with a key/value cache;
* :mod:`~lmnotes.models.common` — the config check and the Hugging Face weight mapping they share.

How the book trains them on the world is in :mod:`lmnotes.recipes`; what it measures in :mod:`lmnotes.analysis`.
"""

from . import bert, common, elmo, gpt, transformer  # noqa: F401
