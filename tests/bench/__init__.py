"""The benchmark suite: the gateway against a fake upstream and against its peers (see ``run.py``)."""
