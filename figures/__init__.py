"""The figures: plots (figures.plots, one per figure, each drawing one experiment's
result), their style and themes, and the diagrams of the models. They read the lab's
results and never run an experiment."""
