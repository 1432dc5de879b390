"""Energy logs: crash-safe field logging of power samples, and reports with plots (issue 7).

The log format, and why
-----------------------
A log is a directory a data person opens with nothing but pandas or a spreadsheet::

    meta.json            what was logged: board, origin (simulated | measured), rails, rate,
                         sample_power (interval_mean: each sample is the mean since the previous)
    samples-0000.csv     t_s, unix_s, then <rail>_v, <rail>_ma, <rail>_mw per rail
    events-0000.csv      t_s, unix_s, kind, duration_s, energy_mj, detail
                         (kinds: session, gap, inference, marker)
    manifest.csv         one line per committed chunk: which file, byte offset and length,
                         rows, SHA-256 of those bytes, and a CRC-32 of the line itself

Plain CSV, because it is what every tool opens and a text editor can inspect after a field
trip; appended in chunks, because a field board logs for days and a crash must cost at most
the last second. Each chunk (at most ``flush_interval_s``, default 0.5 s, of rows) is appended
to its CSV, flushed and fsynced *before* its manifest line is written and fsynced: a chunk is
committed exactly when its manifest line is complete. A SIGKILL or power cut can leave at most
an uncommitted tail on a CSV and a torn last manifest line; the reader ignores both (and says
so), and a resumed writer cuts them off before appending. A chunk whose bytes no longer match
its SHA-256 is reported as damaged and left out, never silently accepted.

SQLite was the other candidate (atomic commits for free), but a data person cannot open it
without a driver, and a damaged page can take the whole file with it; CSV segments lose at
most the damaged chunk. Each writer session starts new segment files (``-0001``, ...), so a
resumed log never appends to a file a crash may have cut mid-row.

Every number comes from a board or from the virtual board; ``meta.json``'s ``origin`` says
which, and every report and plot repeats it.
"""

from qtdeploy.energy.logfile import EnergyLogError, Event, LogWriter, Sample
from qtdeploy.energy.reader import LogData, read_log

__all__ = ["EnergyLogError", "Event", "LogData", "LogWriter", "Sample", "read_log"]
