"""The sign-off worklist and the review page of one study's AI report.

``worklist`` reads the studies awaiting sign-off; ``page`` assembles everything the review
page shows; ``text`` cuts report text into the runs the page marks up; ``views`` and
``urls`` serve both pages. Writes go through ``reports.services``.
"""
