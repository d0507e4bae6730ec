"""The figures package: models, data, training, experiments, plots and their stored results."""
