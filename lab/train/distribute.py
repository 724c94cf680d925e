"""tf.distribute for training: which strategy, its public name, which worker writes the run, sharding by data.

TensorFlow is imported inside each function, when training starts.
"""

from __future__ import annotations

import os

from lab.errors import LabError
from lab.i18n import t


def make_strategy(kind: str = "auto"):
    """A tf.distribute strategy. "auto": MultiWorkerMirrored when TF_CONFIG is set, Mirrored across several
    visible GPUs, else the default (one device). "default", "mirrored" and "multiworker" ask for one of them."""
    import tensorflow as tf

    if kind == "multiworker" or (kind == "auto" and os.environ.get("TF_CONFIG")):
        if not os.environ.get("TF_CONFIG"):
            raise LabError(t("train.distribute.needs_tf_config"))
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored" or (kind == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def strategy_name(strategy) -> str:
    """The public tf.distribute name of a strategy (MultiWorkerMirroredStrategy, MirroredStrategy, ...)."""
    if is_multiworker(strategy):
        return "MultiWorkerMirroredStrategy"
    name = type(strategy).__name__
    return "default" if name.startswith("_Default") else name


def is_chief(strategy) -> bool:
    """True for the one worker that writes the run folder (every process when training on one machine)."""
    if not is_multiworker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", 0)
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0 and
                                            "chief" not in (resolver.cluster_spec().as_dict() or {}))


def shard_by_data(dataset):
    """The dataset split between replicas batch by batch (its files are not split between workers)."""
    if dataset is None:
        return None
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
