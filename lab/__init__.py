"""The lab: the models, the data, training, the experiments, their executors and what they
made (trained networks in lab/weights/, results in lab/results/). It never imports the
figures that draw its results, nor the site generator: a job runs with neither around."""
