"""Human-readable summaries of import jobs, for the command line and logs."""

from ..models import ImportJob

MAX_LISTED_PROBLEMS = 50


def import_job_summary(job: ImportJob) -> str:
    lines = [
        f"Import #{job.pk}: {job.state}",
        f"  rows: {job.rows_done}/{job.rows_total}  created {job.created_count}  "
        f"updated {job.updated_count}  unchanged {job.unchanged_count}  "
        f"rejected {job.failed_count}",
        f"  images: added {job.images_added}  rejected {job.images_rejected}",
    ]
    if job.error:
        lines.append(f"  error: {job.error}")
    problems = list(job.row_errors.all()[: MAX_LISTED_PROBLEMS + 1])
    for problem in problems[:MAX_LISTED_PROBLEMS]:
        column = f" [{problem.column}]" if problem.column else ""
        lines.append(
            f"  line {problem.line}{column} {problem.get_level_display()}: {problem.message}"
        )
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  … more problems in the admin (Import jobs → #{job.pk})")
    return "\n".join(lines)
