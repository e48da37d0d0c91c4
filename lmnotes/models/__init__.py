"""The models of the book: a shared Transformer block, ELMo's biLM, BERT and GPT."""
