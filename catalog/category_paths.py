"""How category paths are spelled: "Home > Kitchen > Mugs". Plain Python (no Django), so plain
modules above catalog (e.g. similarity.fusion) can split paths the same way."""

CATEGORY_PATH_SEPARATOR = " > "
