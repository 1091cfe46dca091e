"""The domain vocabulary: the guide's levels, fields and grades (``labels``) and the findings
they express (``findings``).

Pure Python, no Django. Every app, the statistics, the models and (through the templates'
``json_script``) the front end take their words from here; nothing here imports an app.
"""
