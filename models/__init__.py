"""The tokenizer and models the book ships: package data of picaboo, installed as `picaboo.models`.

Found at run time with `importlib.resources.files("picaboo.models")` (see `picaboo.loading.shipped_model`).
"""
