"""Thin KFP v2 component wrappers, one module per stage.

Each wrapper is a lightweight ``@dsl.component``; its body imports the stage's logic (heavy
libraries included) at run time, so importing these modules stays cheap and reads no setting.
:mod:`components.steps.artifacts` turns the stages' results into the KFP artifacts they output.

The image a step runs in is set by the pipeline that uses it (``pipelines.pipeline.build_pipeline``
calls ``set_container_image`` with ``Settings.image_uri``); :data:`DEFAULT_IMAGE` is only what a
component would run in on its own.
"""

from typing import Any

from components.settings import Settings
from components.version import __version__

DEFAULT_IMAGE = f"{Settings.model_fields['image'].default}:{__version__}"
"""The default project image and this package's version; no environment variable is read."""


def component(**kwargs: Any) -> Any:
    """``@dsl.component`` on the project image, which already has kfp and this package installed.

    ``install_kfp_package=False`` matters: without it the container command runs ``pip install kfp``
    first, which needs network (and pip) in the image and in ``kfp.local``'s subprocess runner.
    """
    from kfp import dsl

    return dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False, **kwargs)
