"""Summaries of import jobs: human-readable for the command line, CSV for spreadsheets."""

import csv
import io

from ..models import ImportJob

MAX_LISTED_PROBLEMS = 50
PROBLEM_COLUMNS = ["line", "level", "column", "sku", "message"]
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); tab and carriage return hide the prefix from a casual look.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def spreadsheet_safe(value) -> str:
    """The cell as text a spreadsheet shows but never evaluates: a leading ' neutralises it.

    Stored data keeps the original (a SKU may really start with '-'); only exports change.
    """
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def import_job_problems_csv(job: ImportJob) -> str:
    """Every problem of the job as CSV (line, level, column, sku, message), formula-safe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PROBLEM_COLUMNS)
    for problem in job.row_errors.order_by("line", "pk").values_list(*PROBLEM_COLUMNS):
        writer.writerow([spreadsheet_safe(value) for value in problem])
    return buffer.getvalue()
