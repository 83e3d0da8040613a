"""``probe view``: a static browser of run and study folders (index, run pages with trials, study pages).

``build_site(root, out)`` writes plain HTML with one small script and style sheet shipped
in the package (no server, no CDN); ``serve(root, out)`` serves it on 127.0.0.1 and rebuilds
as runs finish. The site builder reads run folders only (:func:`probe.runs.read_document`)
and never imports providers, the runner or experiments.
"""

from probe.view.build import SiteBuild, build_site
from probe.view.serve import serve

__all__ = ["SiteBuild", "build_site", "serve"]
