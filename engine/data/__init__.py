"""Training data: reading cases, public corpora mapped to our intents, augmentation."""
