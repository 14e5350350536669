"""``odahu-batch status``: where a job's run stands, from its output storage and from the cluster."""
