"""Monthly passes: a resident's vehicle holds a space at a building every shared night of
a calendar month; the holder may release single nights back to others."""
