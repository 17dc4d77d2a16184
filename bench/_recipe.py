"""The image benches' `--set FIELD=VALUE` option: any TrainingConfig field overridden for one
run, every other field at the default a shop's training job runs."""

import argparse
import json


def add_recipe_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainingConfig field (JSON value), e.g. --set epochs=6",
    )


def recipe_overrides(items: list[str]) -> dict:
    """{field: value} of `--set` items; numbers, lists and booleans read as JSON, else text."""
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    return overrides
