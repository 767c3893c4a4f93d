"""The carers' web pages (HTML forms over the same services as the JSON API): households and
their suggestions, the plan, visits, and the "My places" page for the person supported."""
