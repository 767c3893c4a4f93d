"""A Shared Lives scheme as its workers see it: households over time, where links grow, who cares for which."""
