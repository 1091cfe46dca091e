"""The researchers' agreement dashboard: model versions against gold or NLP labels.

``queries`` reads the labels and predictions; ``summary`` turns them into numbers with
reports.stats; ``cache`` keeps those numbers while their source tables are unchanged;
``charts`` draws them and ``csv_export`` lists them; ``views`` and ``urls`` serve the page.
"""
