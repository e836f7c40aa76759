"""Social listening: hourly volumes per cause, category and topic; spikes against a baseline that
knows the hour of the day and the day of the week; which mentions need service.

Pure algorithms over numpy arrays and pandas frames, plus the Ibis plans that read the volumes;
the use cases (storing alerts, the webhook, routing mentions into contacts) are in
`cxhub.services.listening.detect`. See docs/listening.md.
"""
