"""Classification: every contact and mention labelled with category, cause and sentiment.
`run` labels what is pending, `loop` is the server's background classifier, `training` learns from
labels and registers models, `labels` keeps `current_labels` (the winning label of each record)."""
