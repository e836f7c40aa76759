"""Figures measured from a real call-centre log, built into the simulator as constants.

Source: the Technion "Anonymous Bank" call-centre log, February 1999 (33,344 calls), measured
by `scripts/measure_callcenter.py`; `tests/realdata/test_calibration.py` re-measures the log and
fails if a figure here drifts from it. The simulator never reads the log at run time.

Everything the simulator chooses rather than measures lives in `rates.py`.
"""

from __future__ import annotations

CALLS = 33344
OUTCOMES = {"AGENT": 27162, "HANG": 5904, "PHANTOM": 278}

# Share of calls arriving in each hour of the day (0-23), from the VRU entry time.
HOUR_SHAPE = (
    0.0037, 0.001, 0.0006, 0.0002, 0.0003, 0.0007, 0.0034, 0.0273, 0.0669, 0.075, 0.084, 0.0778,
    0.0656, 0.0782, 0.072, 0.0695, 0.0705, 0.0575, 0.0512, 0.0476, 0.0407, 0.0419, 0.0359, 0.0286,
)  # fmt: skip

# Share of calls on each weekday, Monday first. The bank worked an Israeli week (Sunday busy,
# Friday short, Saturday nearly closed); the simulator keeps the measured shape as it is so that
# every figure it produces can be traced to the log.
WEEKDAY_SHAPE = (0.1733, 0.1919, 0.1906, 0.1751, 0.0585, 0.026, 0.1847)

# Service (talk) time of calls handled by an agent, in seconds.
SERVED_MEAN_S = 176.4  # all AGENT outcomes, as published
SERVED_MEDIAN_S = 107.0
AGENT_SERVICE_MEAN_S = 179.6  # handled by a named agent, the sample the fit uses
AGENT_SERVICE_MEDIAN_S = 109.0
# Lognormal matched to that median and mean (the log-moment fit, mu 4.6071 sigma 1.2191,
# overstates the mean at 210 s because very short calls skew the log left).
SERVICE_LOG_MU = 4.6913
SERVICE_LOG_SIGMA = 0.9994

PHANTOM_SHARE = 0.0083  # calls that vanish with no outcome
QUEUED_SHARE = 0.5452  # callers who had to wait at all
ABANDON_SHARE_OF_QUEUED = 0.2181
MEAN_TIME_IN_QUEUE_S = 75.8
# Exponential patience and virtual wait (the Erlang A assumptions) solved from the two lines
# above: patience = time in queue / abandon share; wait = time in queue / (1 - abandon share).
PATIENCE_MEAN_S = 347.7
VIRTUAL_WAIT_MEAN_S = 97.0
VRU_MEDIAN_S = 9.0  # time in the voice-response menu before queueing
