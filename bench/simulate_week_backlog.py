"""Backlog per channel at month ends, weekday and hour shares per channel, from a folder that
`cxhub simulate` wrote: `python bench/simulate_week_backlog.py DIR`. The backlog is counted by
hand (created by the end of the day, neither resolved nor abandoned by then, phantoms out)."""

from __future__ import annotations

import sys

import pandas as pd

WEEK = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def main(folder: str) -> None:
    times = ["created_at", "resolved_at", "abandoned_at"]
    c = pd.read_csv(f"{folder}/contact_centre/contacts.csv",
                    usecols=["channel", "outcome", *times], parse_dates=times)
    c = c[c.outcome != "phantom"]
    closed = c.resolved_at.fillna(c.abandoned_at)
    levels = {}
    for day in pd.date_range(c.created_at.min().normalize(), c.created_at.max(), freq="ME"):
        end = day + pd.Timedelta(days=1)
        is_open = (c.created_at < end) & (closed.isna() | (closed >= end))
        levels[day.date().isoformat()] = c[is_open].channel.value_counts().to_dict()
    backlog = pd.DataFrame(levels).T.fillna(0).astype(int)
    backlog["all"] = backlog.sum(axis=1)
    print("backlog at month end (end of day):")
    print(backlog.to_string())
    weekdays = pd.crosstab(c.channel, c.created_at.dt.day_name(), normalize="index")
    print("weekday shares per channel:")
    print(weekdays[WEEK].round(3).to_string())
    hours = pd.crosstab(c.channel, c.created_at.dt.hour, normalize="index")
    print("hour shares (phone, chat, email):")
    print(hours.loc[["phone", "chat", "email"]].round(3).to_string())
    handled = c.outcome.isin(["answered", "responded"])
    print("handled and open at the export:", round(float((handled & closed.isna()).mean()), 4))
    print("contacts:", len(c))


if __name__ == "__main__":
    main(sys.argv[1])
