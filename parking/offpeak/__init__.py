"""A building's sharing schedule: weekly off-peak rules, blackouts, and the windows they give."""
