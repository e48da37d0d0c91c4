"""How the book trains and uses each model on the world: data pipelines, pretraining recipes, measurements.

Importing a recipe registers its pretrained model with the zoo (``lmnotes.pretrained(name)``).
"""
