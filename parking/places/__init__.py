"""Buildings (places) and their spaces, who manages them, and search for free spaces."""
