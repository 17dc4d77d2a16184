"""Admin pages beyond ModelAdmin: the version comparison block, the side-by-side preview and
the judging of pairs. Kept apart from admin.py, which holds the ModelAdmin classes."""
