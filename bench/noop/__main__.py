"""The seed stack's shape with resources that do nothing.

Config ``shapeFile``: JSON ``{"resources": [{"name", "deps": [names], "inputs"}]}``
in dependency order, written by bench/seed_up.py from the seed stack's state.
Every dependency edge of the seed (input references and depends_on alike)
becomes a depends_on here, which is what the engine schedules by.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
from noop_provider import Noop

shape = json.loads(Path(pulumi.Config().require("shapeFile")).read_text())
made: dict[str, Noop] = {}
for item in shape["resources"]:
    after = [made[dep] for dep in item["deps"]]
    made[item["name"]] = Noop(
        item["name"], inputs=item["inputs"], opts=pulumi.ResourceOptions(depends_on=after)
    )
pulumi.export("resources", len(made))
