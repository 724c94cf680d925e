"""Training jobs in one import: ``model.fit`` in a worker process, live snapshots, stop, a fair queue.

    job = manager().submit(TrainConfig("Data/sketch-digits", presets.load("recommended"), epochs=5, owner=who))
    job.snapshot()   # any thread, any time: a Snapshot (status, epoch, batch, batch_log, history, eta, ...)
    job.stop()       # ends after the current batch; the best model so far is kept

Where each part lives: ``config`` (TrainConfig), ``snapshot`` (Snapshot), ``live`` (Job: the training itself),
``pipeline`` (the fit), ``manager`` (the fair queue), ``fairness`` (whose turn), ``pool`` and ``worker`` (worker
processes, both sides), ``handle`` (JobHandle: a worker's job as the page sees it), ``distribute``
(tf.distribute), ``status`` (statuses and the runs training now). TensorFlow is imported where a job trains (a
worker process, or this one for ``Job.run()``), not when this module is imported.
"""

from lab.train.config import TrainConfig
from lab.train.handle import JobHandle
from lab.train.live import Job
from lab.train.manager import JobManager, manager
from lab.train.pipeline import auto_steps_per_execution
from lab.train.snapshot import Snapshot
from lab.train.status import ACTIVE, DONE, STATUSES, is_training

__all__ = ["ACTIVE", "DONE", "STATUSES", "Job", "JobHandle", "JobManager", "Snapshot", "TrainConfig",
           "auto_steps_per_execution", "is_training", "manager"]
