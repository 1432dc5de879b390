"""Energy tests. The fixture source they import and run as the logging subprocess the kill
tests SIGKILL is tests/support/fixture_source.py."""
