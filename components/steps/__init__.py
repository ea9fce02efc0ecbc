"""Thin KFP v2 component wrappers, one module per stage.

Each wrapper is a lightweight ``@dsl.component`` on the one project image; its body imports the
stage's logic (heavy libraries included) at run time, so importing these modules stays cheap.
"""

from components.settings import Settings

BASE_IMAGE = Settings().image_uri
"""``<image>:<package version>``, read from ``EF_IMAGE``/``EF_IMAGE_TAG`` when the pipeline is compiled."""
