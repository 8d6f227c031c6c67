"""``hostnet graph``: a picture of a stack's hosts as they are.

stack.py reads what the stack declares (``pulumi stack export``), gather.py reads
the hosts through their agents with read ops only, model.py (with links.py,
rules.py and declared.py) turns both into a plain graph, and render.py draws it
(Graphviz DOT, SVG, PNG, or Mermaid text). Only gather.py talks to hosts.
"""
