"""Thin KFP v2 component wrappers, one module per stage.

Each wrapper is a lightweight ``@dsl.component`` on the one project image; its body imports the
stage's logic (heavy libraries included) at run time, so importing these modules stays cheap.
"""

from typing import Any

from components.settings import Settings

BASE_IMAGE = Settings().image_uri
"""``<image>:<package version>``, read from ``EF_IMAGE``/``EF_IMAGE_TAG`` when the pipeline is compiled."""


def component(**kwargs: Any) -> Any:
    """``@dsl.component`` on the project image, which already has kfp and this package installed.

    ``install_kfp_package=False`` matters: without it the container command runs ``pip install kfp``
    first, which needs network (and pip) in the image and in ``kfp.local``'s subprocess runner.
    """
    from kfp import dsl

    return dsl.component(base_image=BASE_IMAGE, install_kfp_package=False, **kwargs)
