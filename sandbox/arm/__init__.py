"""An Azure Resource Manager stand-in that the real azure-mgmt clients drive unchanged.

Start it with ``python -m sandbox.arm`` (or ``natlink sandbox azure``); see ``server.py``.
"""
