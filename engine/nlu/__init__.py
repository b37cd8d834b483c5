"""Text understanding: the sentence encoder, the intent model, entities, the knowledge base."""
