"""The Azure side of natlink: the only package that imports ``azure.*``.

Everything it returns is a plain frozen dataclass from :mod:`cloud.model`, so the rest of the
product can be tested and rendered without the SDK.
"""
