"""The sweep's world (a natlink-managed rdp-vmb, a store, natlink's clients) for the scheduler tests."""

from tests.sweep_world import azure_env, clients, config, db, managed, slack, slack_process, web  # noqa: F401
