"""Operations outputs: the Prometheus metric names, alert rules, a Grafana dashboard, CloudWatch alarms, runbooks.

One module per output; the renderers are pure functions of the release spec (`greenflag.spec.Spec`) and the
metric names in `greenflag.ops.metric_names`, so every output speaks of the same series.
"""

__pure__ = True
