"""What each exercise practises, and how hard it is: the exercise index and the teacher's guide read it.

``difficulty``: 1 a warm-up (a few lines or one idea), 2 practice (several steps), 3 a challenge
(an algorithm to get exactly right). An exercise missing here is still listed, with its
difficulty estimated from the length of its reference solution.
"""

from __future__ import annotations

ABOUT: dict[str, tuple[str, int]] = {
    # the world
    "tag_shares": ("counting a corpus: the share of each part-of-speech tag", 1),
    "unk_rate": ("word-level vocabularies and the out-of-vocabulary rate", 1),
    "bpe_merge": ("one merge step of byte-pair encoding", 2),
    "unseen_word": ("which tokenizers can spell a word they never saw (question)", 1),
    # representation learning
    "ppmi": ("positive pointwise mutual information from co-occurrence counts", 2),
    "skipgram_loss": (
        "skip-gram with negative sampling: the loss for a word, its context and noise words",
        2,
    ),
    "learning_curve_point": (
        "one point of a learning curve: a balanced draw of n labels, a probe trained on them",
        2,
    ),
    "static_sense": ("what one static vector per word knows of the word's sense (question)", 1),
    "topic_after_sentiment": ("what a network trained for one task keeps of another property (question)", 1),
    "unseen_entities": ("which features help with words never seen with a label (question)", 1),
    # ELMo
    "perplexity_from_loss": ("perplexity as the exponential of the mean cross-entropy in nats", 1),
    "backward_targets": ("the backward language model's targets, with padding", 2),
    "scalar_mix": ("ELMo's scalar mix: softmax-normalised layer weights and the scale γ", 2),
    "elmo_task_input": ("how ELMo enters a task model: [x_k; ELMo_k] with the biLM frozen", 1),
    "elmo_vectors_per_token": ("counting ELMo's 2L + 1 representations per token (question)", 1),
    "token_layer_weight": ("reading learned scalar-mix weights per task (question)", 1),
    "static_few_labels": ("what static word vectors can and cannot separate (question)", 1),
    # BERT
    "mask_tokens": ("BERT's 80/10/10 masking, never masking special tokens", 3),
    "segment_ids": ("segment ids of a sentence pair from the [SEP] positions", 2),
    "nsp_example": ("drawing next-sentence-prediction pairs: true next or a random other document", 2),
    "pretraining_loss": ("BERT's pretraining loss: masked LM over picked positions plus NSP", 2),
    "mask_share": ("how many tokens the masking changes (question)", 1),
    "control_task": ("control-task labels for a probe: one random label per word type", 2),
    "expected_layer": ("the expected layer of a probe: where along the depth a property appears", 2),
    "sentiment_pretraining": ("when pretraining does not help (question)", 1),
    # generative models
    "causal_mask": ("the causal attention mask of a decoder", 1),
    "top_p_filter": ("nucleus (top-p) sampling: keeping the smallest set of tokens with mass p", 3),
    "cached_attention_step": ("one decoding step with a key/value cache", 3),
    "temperature_truth": ("how the sampling temperature changes what a model gets right (question)", 1),
    "instruction_example": ("instruction tuning: inputs and targets with the loss on the answer only", 2),
    "multitask_vs_specialists": ("one multitask model against five specialists (question)", 1),
    # RLHF
    "bradley_terry_loss": ("the Bradley-Terry loss of a reward model on preference pairs", 1),
    "labeller_probability": ("the probability that a noisy labeller prefers one text (question)", 1),
    "per_token_rewards": ("PPO's per-token rewards: a KL penalty on every token, the score at the end", 2),
    "gae": ("generalised advantage estimation, computed backwards", 3),
    "unpenalised_gold": ("reward over-optimisation without a KL penalty (question)", 1),
    "dpo_loss": ("the DPO loss: Bradley-Terry with rewards read off the policy", 2),
    "dpo_start_loss": ("the DPO loss at the first step, where the policy is the reference (question)", 1),
    # challenges
    "exposure": ("a canary's exposure in bits from its rank among all candidate secrets", 1),
    "ngram_contamination": ("an n-gram overlap check of a benchmark item against training texts", 2),
    "membership_auc": ("the AUC of a membership-inference score, ties counting one half", 2),
    "weat_test": ("a WEAT effect size (sample std over all target words) and its exact permutation test", 2),
    "skewed_probability": ("a skewed text model's probability, not its preference rate (question)", 1),
    "inherit_property": ("a property by inheritance through a taxonomy: the nearest statement wins", 2),
    "exception_never_stated": ("what a default answer means for an exception never stated (question)", 1),
    "tokenizer_fertility": ("a tokenizer's fertility (tokens per word), compared across two languages", 1),
    "per_word_perplexity": ("perplexity per token to perplexity per word through fertility (question)", 1),
    "induction_score": (
        "an induction-head score from an attention map: attention on the token after each earlier occurrence",
        2,
    ),
    "one_layer_induction": ("why an induction head needs two attention layers (question)", 1),
    "ablation_reading": ("what switching off one head shows, and what it does not (question)", 1),
    "least_squares_in_context": (
        "the least-squares prediction from k in-context examples, minimum-norm when k < d",
        2,
    ),
    "least_squares_error_k_below_d": ("the error minimum-norm least squares leaves when k < d (question)", 1),
    "forgetting_measure": ("a forgetting measure: the best earlier accuracy minus the last one", 1),
    "replay_batch": ("a replay batch: a given share of rows drawn at random from the old data", 2),
    "why_forgetting": ("why fine-tuning on a new domain forgets the old one (question)", 1),
}
