"""Helpers the tests share (pytest puts tests/ on sys.path through its `pythonpath` option):
virtual boards on temporary flash files (vboard), a transport that injects faults (faults),
sources that fail on cue (source_faults), the energy logger's fixture source (fixture_source),
virtual FT232H helpers (ftdi_helpers). Not tests themselves; never mocks of our own parts."""
