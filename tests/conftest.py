"""Test-wide settings.

Hypothesis runs derandomised under CI (``CI`` set in the environment), so a submission's
result does not depend on which examples one run happens to draw; locally it explores new
examples on every run. ``HYPOTHESIS_PROFILE`` picks a profile explicitly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
