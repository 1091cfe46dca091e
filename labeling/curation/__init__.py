"""Curation: people turn the labeller's proposals into gold labels.

Every human decision is its own Annotation row; "a person's decision" on a level is
their newest row there, and the newest adjudication on a level settles it.

- ``queue``: who gets which report next (filters, orders, the overlap share).
- ``item``: one report as the page shows it, and the optimistic token.
- ``adjudication``: reports whose annotators disagree, and the item that shows them.
- ``progress``: gold labels against the target, agreement statistics.
- ``gold_disagreements``: where the labeller's proposal misses a gold label.
- ``model_disagreement``: pure score of the image models against the NLP label.
- ``leases``: the report a person has open is held for them.
- ``services``: the writes; ``views``: the pages.
"""
