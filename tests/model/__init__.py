"""A stateful model test of natlink: random sequences of what people, the portal, Azure's faults and
process restarts do, with natlink's view of who has access compared with Azure's after every step.

* ``azure``: Azure's truth, read through the real azure-mgmt-network SDK from the sandbox ARM.
* ``natlink``: natlink's own view, read from its SQLite database opened read-only.
* ``reports``: what natlink told people, read from the messages the Slack stand-in holds.
* ``checks``: pure comparisons of the three; each difference is a ``Discrepancy``.
* ``machine``: the Hypothesis ``RuleBasedStateMachine`` that drives the real ``natlink serve``
  through signed slash commands and clicks, changes Azure behind its back, injects ARM faults and
  restarts it; ``tests/e2e/test_model.py`` runs it (``make test``, and longer with ``make soak``).
* ``stats``: the figures a run prints (sequences, steps, faults, restarts, discrepancies by kind).
* ``replay``: ``python -m tests.model.replay < failure.txt`` runs a program Hypothesis printed again.
* ``test_checks``: every check shown a world where it must fail.
"""
