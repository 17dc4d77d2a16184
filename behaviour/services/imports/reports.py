"""Summaries of event import jobs: human-readable for the command line, CSV for spreadsheets."""

import csv
import io

from catalog.services.reports import spreadsheet_safe

from ...models import EventImportJob

MAX_SUMMARY_PROBLEMS = 50
PROBLEM_COLUMNS = ["line", "level", "column", "sku", "message"]
RESUMED = (
    "  run {attempts} times (interrupted before): the lines an earlier run stored count as "
    "duplicates, not accepted"
)


def event_import_job_summary(job: EventImportJob) -> str:
    lines = [
        f"Event import #{job.pk}: {job.state}",
        f"  lines: {job.rows_done}/{job.rows_total}  accepted {job.accepted_count}  "
        f"duplicates {job.duplicate_count}  rejected {job.rejected_count}",
    ]
    if job.attempts > 1:
        lines.append(RESUMED.format(attempts=job.attempts))
    if job.error:
        lines.append(f"  error: {job.error}")
    problems = list(job.row_errors.all()[: MAX_SUMMARY_PROBLEMS + 1])
    for problem in problems[:MAX_SUMMARY_PROBLEMS]:
        column = f" [{problem.column}]" if problem.column else ""
        lines.append(
            f"  line {problem.line}{column} {problem.get_level_display()}: {problem.message}"
        )
    if len(problems) > MAX_SUMMARY_PROBLEMS:
        lines.append(f"  … more problems in the admin (Event import jobs → #{job.pk})")
    return "\n".join(lines)


def event_import_job_problems_csv(job: EventImportJob) -> str:
    """Every listed problem of the job as CSV (line, level, column, sku, message), formula-safe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PROBLEM_COLUMNS)
    for problem in job.row_errors.order_by("line", "pk").values_list(*PROBLEM_COLUMNS):
        writer.writerow([spreadsheet_safe(value) for value in problem])
    return buffer.getvalue()
