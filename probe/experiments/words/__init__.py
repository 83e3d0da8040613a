"""The words study: tokenizer, streaming counts, model-written stories, synthetic control texts."""
