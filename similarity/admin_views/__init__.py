"""Admin pages beyond ModelAdmin: the version comparison block, the side-by-side preview and
the judging of pairs; the activation/rollback confirmations and a job's live progress and cancel
(lifecycle). Kept apart from the `similarity.admin` package, which holds the ModelAdmin classes."""
