"""List and dict fields that read a multipart form as a JSON body reads: nothing silently lost.

DRF's own fields read only `attributes.colour=red` and repeated `tags=red` from a form; the
spellings partners' HTTP clients use instead (`attributes={"colour": "red"}`, `attributes[colour]`,
`tags[]`) became an empty dict or list, which a PUT then stored over the product's own.
"""

import json
import re

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

# What follows a field's name in the form keys these fields read (beside the name alone): a
# list's `[]` or `[0]`, a dict's `.colour` or `[colour]` (unknown_field_errors reads them too).
LIST_KEY_SUFFIX = r"\[\d*\]"
DICT_KEY_SUFFIX = r"\.(.+)|\[([^\]]+)\]"

ERROR_NOT_JSON = (
    "in a form, send {name} as one JSON {kind} (e.g. {example}) or as {spelling} fields; "
    "this is not a JSON {kind}"
)
ERROR_TWO_SPELLINGS = "send {name} one way: as one JSON value or as {spelling} fields, not both"


class _FormJSON(str):
    """A form value that holds JSON text: parsed by the field, unlike a JSON body's string."""


class _TwoSpellings:
    """A form that sent the field both as JSON text and as separate fields."""


class FormDictField(serializers.DictField):
    """In a form: one JSON object (`attributes={"colour": "red"}`), or one field per key
    (`attributes.colour=red` or `attributes[colour]=red`); an empty value is an empty dict."""

    def get_value(self, dictionary):
        if not html.is_html_input(dictionary):
            return super().get_value(dictionary)
        pattern = re.compile(rf"^{re.escape(self.field_name)}(?:{DICT_KEY_SUFFIX})$")
        keyed = {
            match[1] or match[2]: dictionary.getlist(key)[-1]
            for key in dictionary
            if (match := pattern.match(key))
        }
        if self.field_name not in dictionary:
            return keyed or empty
        if keyed:
            return _TwoSpellings()
        text = dictionary.getlist(self.field_name)[-1]
        return _FormJSON(text) if text.strip() else {}

    def to_internal_value(self, data):
        spelling = f"{self.field_name}.colour=red"
        if isinstance(data, _TwoSpellings):
            raise _form_error(ERROR_TWO_SPELLINGS, self.field_name, "object", spelling)
        if isinstance(data, _FormJSON):
            data = _parsed(data, dict)
            if data is None:
                raise _form_error(ERROR_NOT_JSON, self.field_name, "object", spelling)
        return super().to_internal_value(data)


class FormListField(serializers.ListField):
    """In a form: the field repeated (`tags=red&tags=blue`, also as `tags[]=` or `tags[0]=`),
    or, with `json_text`, one JSON array (`tags=["red", "blue"]`); an empty value is []."""

    def __init__(self, *, json_text: bool = False, **kwargs):
        self.json_text = json_text
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        if not html.is_html_input(dictionary):
            return super().get_value(dictionary)
        values = dictionary.getlist(self.field_name) + dictionary.getlist(f"{self.field_name}[]")
        if not values:
            return super().get_value(dictionary)  # absent, or indexed (`tags[0]`)
        if self.json_text and len(values) == 1 and isinstance(values[0], str):
            text = values[0].strip()
            if not text:
                return []
            if text.startswith("["):
                return _FormJSON(text)
        return values

    def to_internal_value(self, data):
        if isinstance(data, _FormJSON):
            data = _parsed(data, list)
            if data is None:
                spelling = f"repeated {self.field_name}"
                raise _form_error(ERROR_NOT_JSON, self.field_name, "array", spelling)
        return super().to_internal_value(data)


def form_key_field(key: str, fields: dict) -> str:
    """The field of `fields` (name → field) a form key names: itself, or a list's `tags[]` /
    `tags[0]`, a dict's `attributes.colour` / `attributes[colour]`. Any other spelling
    (`in_stock[]`, `attributes[size][w]`) names no field: no field reads it, so a PUT would
    store the default of the field it seems to name."""
    name = re.split(r"[.\[]", key, maxsplit=1)[0]
    field, rest = fields.get(name), key[len(name) :]
    if isinstance(field, serializers.ListField) and re.fullmatch(LIST_KEY_SUFFIX, rest):
        return name
    if isinstance(field, serializers.DictField) and re.fullmatch(DICT_KEY_SUFFIX, rest):
        return name
    return key


EXAMPLES = {"object": '{"colour": "red"}', "array": '["red", "blue"]'}


def _form_error(message: str, name: str, kind: str, spelling: str) -> serializers.ValidationError:
    return serializers.ValidationError(
        message.format(name=name, kind=kind, example=EXAMPLES[kind], spelling=spelling)
    )


def _parsed(text: str, kind: type):
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, kind) else None
