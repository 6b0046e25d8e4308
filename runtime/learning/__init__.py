"""Learning: models, task types, training, evaluation and device placement."""
